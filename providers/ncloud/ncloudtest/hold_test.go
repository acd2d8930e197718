package ncloudtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// TestHoldWithholdsTheAnswer: a hold after CreateSubAccount lets the sub
// account exist while the client hears nothing; a hold before it, released
// as a dropped connection, leaves none. Crash tests rely on both.
func TestHoldWithholdsTheAnswer(t *testing.T) {
	cases := []struct {
		name     string
		stage    emulator.Stage
		release  emulator.Fault
		addedNow int // sub accounts added while held
		addedEnd int // after release
		answered bool
	}{
		{"after effect", emulator.AfterEffect, emulator.None, 1, 1, true},
		{"before effect, released", emulator.BeforeEffect, emulator.None, 0, 1, true},
		{"before effect, dropped", emulator.BeforeEffect, emulator.Drop, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := Start(t, Options{})
			root := rootClient(t, ts)
			base := ts.State()["sub_accounts"]
			h := ts.Core().Hold(emulator.HoldSpec{Action: "CreateSubAccount", Stage: tc.stage})
			t.Cleanup(func() { h.Release(emulator.None) })
			type result struct {
				r   response
				err error
			}
			done := make(chan result, 1)
			go func() {
				r, err := root.tryDo(http.MethodPost, "/api/v1/sub-accounts", v1CreateBody("held-one"))
				done <- result{r, err}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, h.Wait(ctx, 1))
			select {
			case res := <-done:
				t.Fatalf("the client got an answer while it was held: %d %v", res.r.status, res.err)
			case <-time.After(200 * time.Millisecond):
			}
			require.Equal(t, base+tc.addedNow, ts.State()["sub_accounts"], "while held")

			h.Release(tc.release)
			res := <-done
			if tc.answered {
				require.NoError(t, res.err)
				require.Equal(t, http.StatusOK, res.r.status, string(res.r.body))
			} else {
				require.Error(t, res.err, "a dropped connection answers nothing")
			}
			require.Equal(t, base+tc.addedEnd, ts.State()["sub_accounts"], "after release")
		})
	}
}
