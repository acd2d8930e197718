package callsched

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// TestCompareWithSDKAdaptiveMode measures, in real time against the
// emulators' token-bucket account, three ways of pacing the same bench
// workloads: the AWS driver before this package (10 calls in flight,
// full-jitter backoff on throttles), the AWS SDK's retry.AdaptiveMode
// (CUBIC attempt rate limit, one per account) and this Scheduler. It takes
// about 4 minutes, so it runs only with CALLSCHED_COMPARE=1; its table is
// quoted in doc.go.
func TestCompareWithSDKAdaptiveMode(t *testing.T) {
	if os.Getenv("CALLSCHED_COMPARE") == "" {
		t.Skip("set CALLSCHED_COMPARE=1 (about 3 minutes)")
	}
	gates := map[string]func() gate{
		"semaphore 10 + backoff (before)": func() gate { return newSemGate(10) },
		"SDK AdaptiveMode":                func() gate { return newAdaptiveGate() },
		"callsched":                       func() gate { return schedGate{New(Config{Ceiling: 512})} },
	}
	var mu sync.Mutex
	lines := map[string][]string{}
	var wg sync.WaitGroup
	for name, mk := range gates {
		wg.Go(func() {
			out := runCompare(mk())
			mu.Lock()
			lines[name] = out
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, name := range []string{"semaphore 10 + backoff (before)", "SDK AdaptiveMode", "callsched"} {
		for _, l := range lines[name] {
			t.Logf("%-32s %s", name, l)
		}
	}
}

// gate is one way of pacing calls.
type gate interface {
	acquire(ctx context.Context) (release func(throttled bool), err error)
	// retryDelay is the sleep before retry attempt n after a throttle.
	retryDelay(n int) time.Duration
}

type schedGate struct{ s *Scheduler }

func (g schedGate) acquire(ctx context.Context) (func(bool), error) {
	p, err := g.s.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return func(throttled bool) {
		if throttled {
			p.Done(Throttled)
		} else {
			p.Done(Success)
		}
	}, nil
}

func (schedGate) retryDelay(int) time.Duration { return 0 }

// fullJitter is the AWS driver's backoff: uniform in [0, min(5s, 100ms·2^n)].
func fullJitter(n int) time.Duration {
	ceil := min(5*time.Second, 100*time.Millisecond<<n)
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

type semGate struct{ sem chan struct{} }

func newSemGate(n int) semGate { return semGate{make(chan struct{}, n)} }

func (g semGate) acquire(ctx context.Context) (func(bool), error) {
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return func(bool) { <-g.sem }, nil
}

func (semGate) retryDelay(n int) time.Duration { return fullJitter(n) }

type adaptiveGate struct{ r *retry.AdaptiveMode }

func newAdaptiveGate() adaptiveGate {
	return adaptiveGate{retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
			so.MaxAttempts = 9
			so.RateLimiter = ratelimit.None
		})
	})}
}

var errThrottling = &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}

func (g adaptiveGate) acquire(ctx context.Context) (func(bool), error) {
	release, err := g.r.GetAttemptToken(ctx)
	if err != nil {
		return nil, err
	}
	return func(throttled bool) {
		if throttled {
			_ = release(errThrottling)
		} else {
			_ = release(nil)
		}
	}, nil
}

func (adaptiveGate) retryDelay(n int) time.Duration { return fullJitter(n) }

// rtAccount is simAccount on the wall clock, with its latency.
type rtAccount struct {
	mu      sync.Mutex
	a       *simAccount
	latency time.Duration
	calls   atomic.Int64
}

func (a *rtAccount) setRate(r float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.a.setRate(r, time.Now())
}

// do is one call: it waits for the gate, asks the account, and retries
// throttles (at most 9 attempts).
func (a *rtAccount) do(ctx context.Context, g gate) bool {
	for n := 1; ; n++ {
		release, err := g.acquire(ctx)
		if err != nil {
			return false
		}
		a.calls.Add(1)
		a.mu.Lock()
		ok := a.a.admit(time.Now())
		a.mu.Unlock()
		time.Sleep(a.latency)
		release(!ok)
		if ok {
			return true
		}
		if n == 9 {
			return false
		}
		time.Sleep(g.retryDelay(n))
	}
}

func (a *rtAccount) fan(ctx context.Context, g gate, _ providers.Operation, n int) bool {
	var ok atomic.Bool
	ok.Store(true)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if !a.do(ctx, g) {
				ok.Store(false)
			}
		})
	}
	wg.Wait()
	return ok.Load()
}

// rtBatch runs n issues (or revokes) at once and reports it.
func (a *rtAccount) rtBatch(g gate, n int, issue bool, floor float64) string {
	c0 := a.calls.Load()
	start := time.Now()
	var errs atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			kind := providers.OpRevoke
			if issue {
				kind = providers.OpIssue
			}
			ctx := providers.WithOperation(context.Background(), kind)
			op, _ := providers.OperationFrom(ctx)
			var ok bool
			if issue {
				ok = a.fan(ctx, g, op, 1) && a.fan(ctx, g, op, 7)
			} else {
				ok = a.fan(ctx, g, op, 7) && a.fan(ctx, g, op, 1)
			}
			if !ok {
				errs.Add(1)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	calls := float64(a.calls.Load()-c0) / float64(n)
	what := "revoke"
	if issue {
		what = "issue "
	}
	s := fmt.Sprintf("%s %5.2fs %5.2f calls/op %d errors", what, wall, calls, errs.Load())
	if floor > 0 {
		s += fmt.Sprintf(" (%.2f × floor)", wall/floor)
	}
	return s
}

func runCompare(g gate) []string {
	a := &rtAccount{a: newSimAccount(0, time.Now()), latency: 50 * time.Millisecond}
	var out []string
	out = append(out, "no limit:    "+a.rtBatch(g, 50, true, 0)+" | "+a.rtBatch(g, 50, false, 0))
	for _, rate := range []float64{50, 20} {
		floor := (400 - rate) / rate
		for run := 1; run <= 3; run++ {
			time.Sleep(2 * time.Second)
			a.setRate(rate)
			is := a.rtBatch(g, 50, true, floor)
			time.Sleep(time.Duration(float64(time.Second) * max(1, rate) / rate))
			rv := a.rtBatch(g, 50, false, floor)
			out = append(out, fmt.Sprintf("%2.0f/s run %d: %s | %s", rate, run, is, rv))
		}
	}
	return out
}
