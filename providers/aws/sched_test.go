package aws_test

import (
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// benchRole is the bench's role: 3 managed policies, an inline policy and
// 2 groups, so 8 IAM calls per issue and per revoke.
func benchRole(e *env) {
	e.group("devs")
	e.group("ops")
	e.OK(logical.UpdateOperation, "roles/aws/bench", map[string]any{
		"policy_arns":     []string{e.policy("p1"), e.policy("p2"), "arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"policy_document": allowS3, "iam_groups": []string{"devs", "ops"},
	})
}

// concurrently runs fn(i) for i in [0, n) all at once.
func concurrently(n int, fn func(i int)) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
	return time.Since(start)
}

// batch issues n credentials at once, then revokes them at once, and
// returns the IAM calls and wall time of each half.
func batch(t *testing.T, e *env, n int, between func()) (issueCalls, revokeCalls int, issueWall, revokeWall time.Duration) {
	secrets := make([]*logical.Secret, n)
	c0 := iamCalls(e.ts.Core().Calls().Counts)
	issueWall = concurrently(n, func(i int) {
		resp, err := e.Do(logical.ReadOperation, "creds/aws/bench", nil)
		require.NoError(t, err)
		require.False(t, resp.IsError(), "%v", resp.Error())
		secrets[i] = resp.Secret
	})
	c1 := iamCalls(e.ts.Core().Calls().Counts)
	between()
	revokeWall = concurrently(n, func(i int) {
		_, err := e.Revoke(secrets[i])
		require.NoError(t, err)
	})
	c2 := iamCalls(e.ts.Core().Calls().Counts)
	require.Empty(t, e.vaultUsers())
	return c1 - c0, c2 - c1, issueWall, revokeWall
}

// The default max_concurrent_iam_calls is a ceiling, not the pace: an
// unthrottled burst runs far wider than the old fixed cap of 10 (how wide
// depends on how fast the 50 requests reach the driver; the window's
// growth is tested in internal/callsched).
func TestUnthrottledBurstIsNotCapped(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	benchRole(e)
	e.ts.Core().Reset()
	e.ts.Core().SetFaults(emulator.Faults{LatencyMS: 50})
	issues, revokes, _, _ := batch(t, e, 50, func() {})
	require.Equal(t, 50*8, issues)
	require.Equal(t, 50*8, revokes)
	peak := e.ts.Core().Calls().MaxOverlap()
	require.Greater(t, peak, 32, "not held to a small fixed cap")
	require.LessOrEqual(t, peak, 512, "the default ceiling")
}

// Under an account limit, a burst of issues and then of revokes runs
// close to the account's pace and throttled retries cost little. The first
// burst into the limit finds it and pays up to a window or two of refused
// calls (a window grows while the account's own burst lasts); after that, at most 9 IAM calls per issue and per revoke where 8
// are needed (the fixed cap with backoff made 22).
func TestBurstUnderAccountLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("about 20 s")
	}
	e := newEnv(t, awstest.Options{}, nil)
	benchRole(e)
	e.ts.Core().Reset()
	const rate = 50.0
	e.ts.Core().SetFaults(emulator.Faults{LatencyMS: 20, RateLimitRPS: rate})
	refill := func() { time.Sleep(time.Second) } // the account's bucket refills
	issues, revokes, _, _ := batch(t, e, 25, refill)
	t.Logf("first contact, 25 issues: %d IAM calls; their revokes: %d", issues, revokes)
	require.LessOrEqual(t, issues, 25*8+2*64, "at most two windows of refused calls")
	// The revokes' first burst (five calls each, all at once) may still
	// overshoot the account's burst by up to a window, depending on how
	// the issues were spread (a slower issue path meets fewer throttles,
	// so less is learnt before the revokes start).
	require.LessOrEqual(t, revokes, 25*8+64)

	refill()
	issues, revokes, issueWall, revokeWall := batch(t, e, 50, refill)
	floor := time.Duration((400 - rate) / rate * float64(time.Second))
	t.Logf("50 issues: %d IAM calls in %s; 50 revokes: %d in %s; floor %s", issues, issueWall, revokes, revokeWall, floor)
	require.LessOrEqual(t, issues, 50*9)
	require.LessOrEqual(t, revokes, 50*9)
	// Generous bounds: the machine may be busy (make bench measures it).
	require.Less(t, issueWall, floor*13/10)
	require.Less(t, revokeWall, floor*13/10)
}
