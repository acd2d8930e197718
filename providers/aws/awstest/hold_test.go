package awstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// TestHoldWithholdsTheAnswer: a hold after CreateUser lets the user exist
// while the SDK client hears nothing; a hold before it, released as a
// dropped connection, leaves no user. Crash tests rely on both.
func TestHoldWithholdsTheAnswer(t *testing.T) {
	cases := []struct {
		name      string
		stage     emulator.Stage
		release   emulator.Fault
		existsNow bool // while held
		existsEnd bool // after release
		answered  bool // the client gets a success after release
	}{
		{"after effect", emulator.AfterEffect, emulator.None, true, true, true},
		{"before effect, released", emulator.BeforeEffect, emulator.None, false, true, true},
		{"before effect, dropped", emulator.BeforeEffect, emulator.Drop, false, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := awstest.Start(t, awstest.Options{})
			h := ts.Core().Hold(emulator.HoldSpec{Action: "CreateUser", Stage: tc.stage})
			t.Cleanup(func() { h.Release(emulator.None) })
			c := rootIAM(ts)
			errs := make(chan error, 1)
			go func() {
				_, err := c.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String("held")})
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
			_, exists := ts.User("held")
			require.Equal(t, tc.existsNow, exists, "user exists while held")

			h.Release(tc.release)
			err := <-errs
			if tc.answered {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
			_, exists = ts.User("held")
			require.Equal(t, tc.existsEnd, exists, "user exists after release")
		})
	}
}
