package ncloud

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/callsched"
)

func TestOutcome(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want callsched.Outcome
	}{
		{"success", nil, callsched.Success},
		{"rate limited", &apiError{op: "x", status: 429, code: gwRateLimited}, callsched.Throttled},
		{"wrapped rate limited", fmt.Errorf("step: %w", &apiError{op: "x", status: 429, code: gwRateLimited}), callsched.Throttled},
		{"not found was served", &apiError{op: "x", status: 404, code: v2SubAccountNotFound}, callsched.Success},
		{"auth failure was served", &apiError{op: "x", status: 401, code: gwAuthFailed}, callsched.Success},
		{"5xx", &apiError{op: "x", status: 500, code: "900"}, callsched.Failed},
		{"transport", &apiError{op: "x", message: "request failed"}, callsched.Failed},
		{"cancelled", context.Canceled, callsched.Failed},
		{"other", errors.New("x"), callsched.Failed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, outcome(tc.err))
		})
	}
	cl := &client{sched: callsched.New(callsched.Config{Ceiling: 1})}
	require.Zero(t, cl.retryDelay(3, &apiError{status: 429}), "the scheduler paces rate-limited retries")
	require.Positive(t, cl.retryDelay(3, &apiError{status: 503}))
	require.Positive(t, (&client{}).retryDelay(3, &apiError{status: 429}), "without a scheduler, back off")
}
