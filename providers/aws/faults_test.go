package aws_test

import (
	"sync"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// Done means 5: with 30% of calls throttled, 50 issue+revoke cycles all
// succeed and leave no user.
func TestThrottledCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test")
	}
	e := newEnv(t, awstest.Options{}, map[string]any{"max_retries": 12, "retry_max_backoff": "1s"})
	arn := e.policy("p1")
	e.group("devs")
	e.OK(logical.UpdateOperation, "roles/aws/r", map[string]any{"policy_arns": []string{arn}, "policy_document": allowS3, "iam_groups": []string{"devs"}})
	before := e.ts.State()
	e.ts.Core().SetFaults(emulator.Faults{ThrottleRate: 0.3})

	for i := range 50 {
		resp := e.issue("r", nil)
		_, err := e.Revoke(resp.Secret)
		require.NoError(t, err, "cycle %d", i)
	}
	e.ts.Core().SetFaults(emulator.Faults{})
	require.Empty(t, e.vaultUsers())
	require.Equal(t, before, e.ts.State())
	require.Zero(t, e.WALCount())
	calls := e.ts.Core().Calls()
	throttled := 0
	for _, c := range calls.Log {
		if c.Fault == "throttle" {
			throttled++
		}
	}
	require.Positive(t, throttled)
	t.Logf("50 cycles: %d calls, %d throttled and retried", calls.Total, throttled)
}

// Done means 5: under an account-wide 20 requests/s limit, 100 issuances
// from 16 concurrent callers all succeed, and revoking them (16 at once, as
// Vault's revocation workers do) leaves no user.
func TestRateLimitedConcurrentIssuance(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test")
	}
	e := newEnv(t, awstest.Options{}, map[string]any{"max_retries": 30, "retry_max_backoff": "1s"})
	arn := e.policy("p1")
	e.OK(logical.UpdateOperation, "roles/aws/r", map[string]any{"policy_arns": []string{arn}})
	before := e.ts.State()
	e.ts.Core().SetFaults(emulator.Faults{RateLimitRPS: 20})

	const total, workers = 100, 16
	secrets := make(chan *logical.Secret, total)
	errs := make(chan error, total)
	run := func(n int, fn func(i int)) {
		var wg sync.WaitGroup
		jobs := make(chan int)
		for range workers {
			wg.Go(func() {
				for i := range jobs {
					fn(i)
				}
			})
		}
		for i := range n {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
	}
	run(total, func(int) {
		resp, err := e.Do(logical.ReadOperation, "creds/aws/r", nil)
		if err == nil && resp != nil && resp.IsError() {
			err = resp.Error()
		}
		if err != nil {
			errs <- err
			return
		}
		secrets <- resp.Secret
	})
	close(secrets)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, secrets, total)
	require.Len(t, e.vaultUsers(), total)

	all := make([]*logical.Secret, 0, total)
	for s := range secrets {
		all = append(all, s)
	}
	revokeErrs := make(chan error, total)
	run(total, func(i int) {
		if _, err := e.Revoke(all[i]); err != nil {
			revokeErrs <- err
		}
	})
	close(revokeErrs)
	for err := range revokeErrs {
		require.NoError(t, err)
	}
	e.ts.Core().SetFaults(emulator.Faults{})
	require.Empty(t, e.vaultUsers())
	require.Equal(t, before, e.ts.State())
	calls := e.ts.Core().Calls()
	t.Logf("100 issuances + 100 revokes at 20 rps: %d calls (%d IAM), max in flight %d", calls.Total, iamCalls(calls.Counts), calls.MaxInFlight)
	// 3 IAM calls per issue and per revoke; the call scheduler paces them
	// so that throttled retries do not spend the account's budget.
	require.LessOrEqual(t, iamCalls(calls.Counts), 600*11/10, "at most 10%% more calls than needed")
}
