package nomadtest

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// TestHoldWithholdsTheAnswer: a hold after TokenCreate lets the token exist
// while the client hears nothing; a hold before it, released as a dropped
// connection, leaves none. Crash tests rely on both.
func TestHoldWithholdsTheAnswer(t *testing.T) {
	cases := []struct {
		name     string
		stage    emulator.Stage
		release  emulator.Fault
		addedNow int
		addedEnd int
		answered bool
	}{
		{"after effect", emulator.AfterEffect, emulator.None, 1, 1, true},
		{"before effect, released", emulator.BeforeEffect, emulator.None, 0, 1, true},
		{"before effect, dropped", emulator.BeforeEffect, emulator.Drop, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := Start(t, Options{})
			c := newClient(t, ts, ts.RootToken())
			base := ts.State()["tokens"]
			h := ts.Core().Hold(emulator.HoldSpec{Action: "TokenCreate", Stage: tc.stage})
			t.Cleanup(func() { h.Release(emulator.None) })
			errs := make(chan error, 1)
			go func() {
				_, _, err := c.ACLTokens().Create(&api.ACLToken{Name: "held", Type: "management"}, nil)
				errs <- err
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, h.Wait(ctx, 1))
			select {
			case err := <-errs:
				t.Fatalf("the client got an answer while it was held: %v", err)
			case <-time.After(200 * time.Millisecond):
			}
			require.Equal(t, base+tc.addedNow, ts.State()["tokens"], "while held")

			h.Release(tc.release)
			err := <-errs
			if tc.answered {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
			require.Equal(t, base+tc.addedEnd, ts.State()["tokens"], "after release")
		})
	}
}
