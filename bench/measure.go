package main

import (
	"context"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// stats summarises the wall times of N operations, in milliseconds.
type stats struct {
	N      int     `json:"n"`
	Errors int     `json:"errors"`
	P50MS  float64 `json:"p50_ms"`
	P95MS  float64 `json:"p95_ms"`
	MeanMS float64 `json:"mean_ms"`
	MaxMS  float64 `json:"max_ms"`
	// WallMS is the time from the first start to the last end: for a
	// sequential run the sum, for a concurrent run the batch's duration.
	WallMS float64 `json:"wall_ms"`
}

// summarize computes stats over the successful operations' durations.
func summarize(durs []time.Duration, errs int, wall time.Duration) stats {
	s := stats{N: len(durs) + errs, Errors: errs, WallMS: ms(wall)}
	if len(durs) == 0 {
		return s
	}
	sorted := append([]time.Duration(nil), durs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	s.P50MS = ms(percentile(sorted, 50))
	s.P95MS = ms(percentile(sorted, 95))
	s.MeanMS = ms(sum / time.Duration(len(sorted)))
	s.MaxMS = ms(sorted[len(sorted)-1])
	return s
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }

// calls is what one batch of operations cost in cloud API calls.
type calls struct {
	// Counts is the number of calls per action.
	Counts map[string]int `json:"counts"`
	// Total and List are all calls and the calls of List* actions.
	Total int `json:"total"`
	List  int `json:"list"`
	// PeakInFlight is the most calls in flight at once during the batch.
	PeakInFlight int `json:"peak_in_flight"`
}

// callsBetween is the difference of two snapshots of an emulator's call
// report; the peak is computed from the log entries that started after
// since. Diffing instead of POST /reset keeps the fixtures (groups,
// policies) and the injected faults in place.
func callsBetween(before, after emulator.CallReport, since time.Time) calls {
	c := calls{Counts: map[string]int{}}
	for action, n := range after.Counts {
		if d := n - before.Counts[action]; d > 0 {
			c.Counts[action] = d
			c.Total += d
			if strings.HasPrefix(action, "List") {
				c.List += d
			}
		}
	}
	var log emulator.CallReport
	for _, e := range after.Log {
		if !e.Start.Before(since) {
			log.Log = append(log.Log, e)
		}
	}
	c.PeakInFlight = log.MaxOverlap()
	return c
}

// per divides by n, rounded to one decimal.
func per(total, n int) float64 {
	if n == 0 {
		return 0
	}
	return math.Round(float64(total)/float64(n)*10) / 10
}

// batch runs op for i in [0, n), one after the other or all at once, and
// returns the durations of the successful calls, the errors (nil for a
// success, by index) and the wall time of the whole batch.
func batch(ctx context.Context, n int, concurrent bool, op func(ctx context.Context, i int) error) ([]time.Duration, []error, time.Duration) {
	durs := make([]time.Duration, n)
	errs := make([]error, n)
	one := func(i int) {
		t := time.Now()
		errs[i] = op(ctx, i)
		durs[i] = time.Since(t)
	}
	start := time.Now()
	if concurrent {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { one(i) })
		}
		wg.Wait()
	} else {
		for i := range n {
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				continue
			}
			one(i)
		}
	}
	wall := time.Since(start)
	var ok []time.Duration
	for i, d := range durs {
		if errs[i] == nil {
			ok = append(ok, d)
		}
	}
	return ok, errs, wall
}

// countErrors returns how many errors are not nil and the first few
// distinct messages.
func countErrors(errs []error, m *masker) (int, []string) {
	n := 0
	var msgs []string
	seen := map[string]bool{}
	for _, err := range errs {
		if err == nil {
			continue
		}
		n++
		msg := errText(m.mask(err.Error()))
		if !seen[msg] && len(msgs) < 3 {
			seen[msg] = true
			msgs = append(msgs, msg)
		}
	}
	return n, msgs
}

// errText condenses a Vault API or CLI error to one line: the "* ..."
// error lines Vault prints, or else the first non-empty line; at most 300
// bytes.
func errText(s string) string {
	var parts []string
	first := ""
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if first == "" {
			first = l
		}
		if strings.HasPrefix(l, "* ") {
			parts = append(parts, strings.TrimPrefix(l, "* "))
		}
	}
	out := first
	if len(parts) > 0 {
		out = strings.Join(parts, "; ")
	}
	if len(out) > 300 {
		out = out[:300] + "…"
	}
	return out
}
