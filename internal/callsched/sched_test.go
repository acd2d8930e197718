package callsched

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// harness drives a Scheduler on a fake clock without goroutines: calls are
// queued with push and granted permits are collected with granted.
type harness struct {
	t   *testing.T
	clk *fakeClock
	s   *Scheduler
	seq uint64
	// queued are the waiters not yet seen granted, in push order.
	queued []*waiter
}

func newHarness(t *testing.T, ceiling int) *harness {
	clk := newFakeClock()
	return &harness{t: t, clk: clk, s: New(Config{Ceiling: ceiling, Clock: clk})}
}

func (h *harness) op(kind providers.OperationKind) providers.Operation {
	h.seq++
	return providers.Operation{Kind: kind, Start: h.clk.Now(), Seq: h.seq}
}

// push queues n calls of op.
func (h *harness) push(op providers.Operation, n int) []*waiter {
	var ws []*waiter
	for range n {
		h.s.mu.Lock()
		w := h.s.enqueueLocked(op, h.clk.Now())
		h.s.mu.Unlock()
		ws = append(ws, w)
	}
	h.queued = append(h.queued, ws...)
	return ws
}

// granted returns the waiters granted since the last call, in grant
// order as far as push order tells (grants happen under one lock).
func (h *harness) granted() []*waiter {
	var out, rest []*waiter
	for _, w := range h.queued {
		select {
		case <-w.ready:
			out = append(out, w)
		default:
			rest = append(rest, w)
		}
	}
	h.queued = rest
	return out
}

func (h *harness) finish(ws []*waiter, o Outcome) {
	for _, w := range ws {
		w.permit.Done(o)
	}
}

func TestInitialWindowAndCeiling(t *testing.T) {
	cases := []struct {
		name             string
		ceiling, initial int
		want             int
	}{
		{"ceiling 1", 1, 0, 1},
		{"ceiling below the initial window", 5, 0, 5},
		{"default initial window", 512, 0, defaultInitialWindow},
		{"initial window set", 512, 100, 100},
		{"initial window over the ceiling", 64, 100, 64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.ceiling)
			h.s = New(Config{Ceiling: tc.ceiling, InitialWindow: tc.initial, Clock: h.clk})
			h.push(h.op(providers.OpIssue), 100)
			require.Len(t, h.granted(), tc.want)
			require.Equal(t, tc.want, h.s.Stats().InFlight)
		})
	}
}

// TestNeverExceedsCeiling runs unthrottled calls through schedulers of
// several ceilings, from many goroutines on the wall clock, and checks the
// calls in flight never pass the ceiling while the window grows to it.
func TestNeverExceedsCeiling(t *testing.T) {
	for _, ceiling := range []int{1, 3, 16, 40} {
		t.Run("", func(t *testing.T) {
			s := New(Config{Ceiling: ceiling})
			var mu sync.Mutex
			inFlight, peak := 0, 0
			var wg sync.WaitGroup
			for range 400 {
				wg.Go(func() {
					p, err := s.Acquire(context.Background())
					require.NoError(t, err)
					mu.Lock()
					inFlight++
					peak = max(peak, inFlight)
					mu.Unlock()
					time.Sleep(200 * time.Microsecond)
					mu.Lock()
					inFlight--
					mu.Unlock()
					p.Done(Success)
				})
			}
			wg.Wait()
			require.LessOrEqual(t, peak, ceiling)
			st := s.Stats()
			require.LessOrEqual(t, st.MaxInFlight, ceiling)
			require.Equal(t, ceiling, st.Concurrency, "the window grew to the ceiling while calls succeeded")
			require.Zero(t, st.InFlight)
			require.Zero(t, st.Waiting)
		})
	}
}

func TestWindowGrowsWhileCallsSucceedAndRestartsAfterIdle(t *testing.T) {
	h := newHarness(t, 100)
	h.s = New(Config{Ceiling: 100, InitialWindow: 16, Clock: h.clk})
	op := h.op(providers.OpIssue)
	h.push(op, 1000)
	var rounds []int
	for range 5 {
		g := h.granted()
		rounds = append(rounds, len(g))
		h.clk.Advance(50 * time.Millisecond)
		h.finish(g, Success)
	}
	// 16, then +half per round trip, up to the ceiling.
	require.Equal(t, []int{16, 24, 36, 54, 81}, rounds)
	for len(h.queued) > 0 {
		g := h.granted()
		h.clk.Advance(50 * time.Millisecond)
		h.finish(g, Success)
	}
	require.Equal(t, 100, h.s.Stats().Concurrency)

	// A few calls at a time do not widen the window (it is not used)...
	h.clk.Advance(500 * time.Millisecond)
	h.push(h.op(providers.OpIssue), 3)
	h.finish(h.granted(), Success)
	require.Equal(t, 100, h.s.Stats().Concurrency, "half a second idle is not an idle restart")

	// ...and after a second with nothing to do it starts small again.
	h.clk.Advance(idleRestart)
	h.push(h.op(providers.OpIssue), 50)
	require.Len(t, h.granted(), 16)
}

// throttleRound grants what the scheduler allows, throttles all of it
// after a round trip, and returns how many calls were granted.
func throttleRound(h *harness) int {
	g := h.granted()
	h.clk.Advance(50 * time.Millisecond)
	h.finish(g, Throttled)
	return len(g)
}

func TestSlowsDownOnThrottling(t *testing.T) {
	h := newHarness(t, 512)
	op := h.op(providers.OpRevoke)
	h.push(op, 2000)
	// 40 calls served in the first 200 ms...
	served := 0
	for served < 40 {
		g := h.granted()
		h.clk.Advance(50 * time.Millisecond)
		h.finish(g, Success)
		served += len(g)
	}
	require.False(t, h.s.Stats().Limited)
	// ...then the account refuses: one cut for the whole round trip's
	// throttles, to beta times what the account granted.
	window := h.s.Stats().Concurrency
	refused := throttleRound(h)
	require.Positive(t, refused)
	st := h.s.Stats()
	require.True(t, st.Limited)
	require.EqualValues(t, 1, st.Cuts, "throttles of calls sent before the cut do not cut again")
	require.EqualValues(t, refused, st.Throttles)
	require.InDelta(t, beta*float64(served), st.Rate, 0.01, "rate = beta × successes of the last second")
	require.Equal(t, max(defaultInitialWindow, window/2), st.Concurrency, "the window halves")

	// From now on the calls are paced: over the next second about Rate
	// calls go out (the bucket starts empty after a cut), not the window's
	// worth every round trip.
	rate := st.Rate
	sent := 0
	for range 20 {
		g := h.granted()
		sent += len(g)
		h.clk.Advance(50 * time.Millisecond)
		h.finish(g, Success)
	}
	require.InDelta(t, rate, float64(sent), 0.1*rate+1)

	// A throttle of a call sent after the cut cuts again, lower.
	g := h.granted()
	for len(g) == 0 {
		h.clk.Advance(10 * time.Millisecond)
		g = h.granted()
	}
	h.finish(g[:1], Throttled)
	h.finish(g[1:], Success)
	st2 := h.s.Stats()
	require.EqualValues(t, 2, st2.Cuts)
	require.Less(t, st2.Rate, rate)
}

func TestSpeedsUpAgain(t *testing.T) {
	h := newHarness(t, 512)
	op := h.op(providers.OpIssue)
	h.push(op, 4000)
	// Serve 100 calls in a second, then one round trip of throttles.
	for served := 0; served < 100; {
		g := h.granted()
		h.clk.Advance(10 * time.Millisecond)
		h.finish(g, Success)
		served += len(g)
	}
	throttleRound(h)
	lastMax := h.s.Stats().Rate / beta

	// Demand stays above the pace and nothing is throttled: the rate
	// climbs back to the throttled rate in one plateau, stays near it
	// (within 20%) for another, then doubles every half plateau.
	rateAt := func(t time.Duration) float64 {
		for end := h.clk.Now().Add(t); h.clk.Now().Before(end); {
			g := h.granted()
			h.clk.Advance(5 * time.Millisecond)
			h.finish(g, Success)
		}
		return h.s.Stats().Rate
	}
	r1 := rateAt(plateau / 2)
	require.Greater(t, r1, beta*lastMax)
	require.Less(t, r1, lastMax)
	r2 := rateAt(plateau / 2)
	require.InDelta(t, lastMax, r2, 0.02*lastMax)
	r3 := rateAt(plateau)
	require.InDelta(t, 1.2*lastMax, r3, 0.03*lastMax)
	r4 := rateAt(plateau)
	require.InDelta(t, 4*r3, r4, 0.1*4*r3, "two doublings")

	// Idle time is not probing: without calls waiting for the pace, the
	// rate does not grow.
	h.s.mu.Lock()
	for _, w := range h.queued {
		h.s.q.remove(w)
	}
	h.s.mu.Unlock()
	h.queued = nil
	h.clk.Advance(time.Minute)
	h.push(op, 1)
	require.InDelta(t, r4, h.s.Stats().Rate, 0.01*r4)
}

func TestReleasesOnCancel(t *testing.T) {
	clk := newFakeClock()
	s := New(Config{Ceiling: 1, Clock: clk})
	held, err := s.Acquire(context.Background())
	require.NoError(t, err)

	// A waiter whose context ends leaves the queue and holds nothing.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		p, err := s.Acquire(ctx)
		require.Nil(t, p)
		errc <- err
	}()
	require.Eventually(t, func() bool { return s.Stats().Waiting == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	require.Equal(t, Stats{Concurrency: 1, InFlight: 1, MaxInFlight: 1}, s.Stats())

	// An ended context gets nothing, even with room.
	held.Done(Success)
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = s.Acquire(done)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, s.Stats().InFlight)

	// Done twice releases once.
	p, err := s.Acquire(context.Background())
	require.NoError(t, err)
	p.Done(Success)
	p.Done(Success)
	require.Zero(t, s.Stats().InFlight)
	p, err = s.Acquire(context.Background())
	require.NoError(t, err)
	p.Done(Failed)

	// A cancelled waiter in a paced queue gives its turn to the next one.
	h := newHarness(t, 512)
	h.push(h.op(providers.OpRevoke), 40)
	h.finish(h.granted(), Success)
	h.push(h.op(providers.OpRevoke), 40)
	throttleRound(h)
	for h.s.Stats().Waiting > 0 || h.s.Stats().InFlight > 0 {
		g := h.granted()
		h.clk.Advance(10 * time.Millisecond)
		h.finish(g, Success)
	}
	h.queued = nil
	// The bucket is empty: the next two calls wait.
	ws := h.push(h.op(providers.OpRevoke), 2)
	require.Empty(t, h.granted())
	h.s.mu.Lock()
	require.True(t, h.s.q.remove(ws[0]))
	h.s.mu.Unlock()
	h.queued = ws[1:]
	h.clk.Advance(time.Second)
	g := h.granted()
	require.Equal(t, ws[1:], g)
	h.finish(g, Success)
	require.Equal(t, 0, h.s.Stats().InFlight)
}

func TestCancelRacingGrantHandsThePermitBack(t *testing.T) {
	for range 200 {
		s := New(Config{Ceiling: 1})
		held, err := s.Acquire(context.Background())
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			p, err := s.Acquire(ctx)
			if err == nil {
				p.Done(Success)
			}
			errc <- err
		}()
		for s.Stats().Waiting == 0 {
			time.Sleep(10 * time.Microsecond)
		}
		go cancel()
		held.Done(Success)
		<-errc
		require.Eventually(t, func() bool { return s.Stats().InFlight == 0 }, time.Second, time.Millisecond)
	}
}

func TestEarlierOperationsFirst(t *testing.T) {
	h := newHarness(t, 1)
	busy := h.push(h.op(providers.OpRevoke), 1)
	require.Len(t, h.granted(), 1)

	older := h.op(providers.OpRevoke)
	h.clk.Advance(time.Second)
	newer := h.op(providers.OpRevoke)
	// The newer operation's calls arrive first; the older one's still go
	// first, then the newer's in arrival order.
	n := h.push(newer, 3)
	o := h.push(older, 2)
	want := []*waiter{o[0], o[1], n[0], n[1], n[2]}
	var got []*waiter
	prev := busy
	for len(got) < len(want) {
		h.finish(prev, Success)
		prev = h.granted()
		require.Len(t, prev, 1)
		got = append(got, prev[0])
	}
	require.Equal(t, want, got)
}

func TestKindsShareTheBudget(t *testing.T) {
	cases := []struct {
		name  string
		kinds []providers.OperationKind
	}{
		{"issue and revoke", []providers.OperationKind{providers.OpIssue, providers.OpRevoke}},
		{"three kinds", []providers.OperationKind{providers.OpRevoke, providers.OpIssue, providers.OpRenew}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1)
			first := h.push(h.op(tc.kinds[0]), 1)
			require.Len(t, h.granted(), 1)
			// A large backlog of the first kind, then the others: each kind
			// gets one call in turn, so none waits for the others' backlog.
			h.push(h.op(tc.kinds[0]), 300)
			for _, k := range tc.kinds[1:] {
				h.push(h.op(k), 30)
			}
			counts := map[providers.OperationKind]int{}
			prev := first
			for range 30 * len(tc.kinds) {
				h.finish(prev, Success)
				prev = h.granted()
				require.Len(t, prev, 1)
				counts[prev[0].op.Kind]++
			}
			for _, k := range tc.kinds {
				require.Equal(t, 30, counts[k], "kind %s", k)
			}
		})
	}
}

func TestCallsWithoutOperationQueueInArrivalOrder(t *testing.T) {
	s := New(Config{Ceiling: 1})
	held, err := s.Acquire(context.Background())
	require.NoError(t, err)
	order := make(chan int, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			p, err := s.Acquire(context.Background())
			require.NoError(t, err)
			order <- i
			p.Done(Success)
		})
		require.Eventually(t, func() bool { return s.Stats().Waiting == i+1 }, 5*time.Second, time.Millisecond)
	}
	held.Done(Success)
	wg.Wait()
	close(order)
	var got []int
	for i := range order {
		got = append(got, i)
	}
	require.Equal(t, []int{0, 1, 2}, got)
}
