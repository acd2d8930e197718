package callsched

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The bench's AWS workloads on the simulated account (sim_test.go), with
// what the scheduler must achieve on them. floor is the least time the
// account allows: (calls needed - its burst) / its rate.
func TestSimulatedWorkloads(t *testing.T) {
	lat := 50 * time.Millisecond
	floor := func(calls int, rate float64) time.Duration {
		return time.Duration((float64(calls) - rate) / rate * float64(time.Second))
	}
	type check struct {
		name        string
		res         batchResult
		maxWall     time.Duration
		maxCallsPer float64
	}
	sm := newSim(512, 0, lat)
	var checks []check
	add := func(name string, r batchResult, maxWall time.Duration, maxCalls float64) {
		checks = append(checks, check{name, r, maxWall, maxCalls})
	}
	// No limit: an unthrottled burst grows the window from 64 and is
	// done in a few round trips (the ideal is 2).
	add("no limit: 50 issues", sm.batch(50, sm.issue), 4*lat, 8)
	sm.idle(2 * time.Second)
	add("no limit: 50 revokes", sm.batch(50, sm.revoke), 5*lat, 8)
	for _, rate := range []float64{50, 20} {
		for run := 1; run <= 3; run++ {
			sm.idle(10 * time.Second)
			sm.acct.setRate(rate, sm.now())
			maxCalls := 8.3
			if run == 1 {
				// The first burst into the limit (from 512 calls/s or
				// from 50/s) pays for finding it: most of a window.
				maxCalls = 10
			}
			add("issues under the limit", sm.batch(50, sm.issue), floor(400, rate)*105/100, maxCalls)
			sm.idle(time.Second) // the account's bucket refills
			add("revokes under the limit", sm.batch(50, sm.revoke), floor(400, rate)*105/100, 8.3)
		}
	}
	// 500 revokes by 180 of Vault's revocation workers right after an
	// unthrottled bulk issue: the rate learned at 20/s has grown back.
	sm.idle(10 * time.Second)
	sm.acct.setRate(0, sm.now())
	add("no limit: 1000 issues after pacing at 20/s", sm.batch(1000, sm.issue), 15*time.Second, 8)
	sm.acct.setRate(50, sm.now())
	r, _ := sm.workers(500, 180)
	add("revoke -prefix of 500 under 50/s", r, floor(4000, 50)*104/100, 10)

	for _, c := range checks {
		t.Logf("%-45s %v", c.name, c.res)
		require.Zero(t, c.res.errors, c.name)
		require.LessOrEqual(t, c.res.wall, c.maxWall, c.name)
		require.LessOrEqual(t, c.res.perOp(), c.maxCallsPer, c.name)
	}
}

// Throttles that come at random, whatever the pace (the emulators'
// throttle_rate), must not pace the calls down to a crawl: once cuts that
// halved the pace did not make them rarer, the scheduler stops pacing.
func TestRandomThrottlesAreNotARate(t *testing.T) {
	for _, p := range []float64{0.1, 0.3} {
		for seed := uint64(1); seed <= 5; seed++ {
			sm := newSim(512, 0, time.Millisecond)
			sm.acct.randomThrottle, sm.acct.rng = p, rand.New(rand.NewPCG(seed, 2))
			sm.attempts = 13
			start := sm.now()
			for range 50 {
				require.Zero(t, sm.batch(1, sm.issue).errors)
				require.Zero(t, sm.batch(1, sm.revoke).errors)
			}
			// 50 cycles of 16 calls, 1 ms each: unpaced, under a second;
			// paced down to the minimum rate, half an hour.
			took := sm.now().Sub(start)
			t.Logf("throttle rate %v, seed %d: %s, %+v", p, seed, took, sm.s.Stats())
			require.Less(t, took, 2*time.Minute, "throttle rate %v, seed %d", p, seed)
			require.True(t, sm.s.Stats().Noisy, "throttle rate %v, seed %d", p, seed)
		}
	}
}

// A real limit of a few calls per second also throttles soon after each
// cut, but it answers the pace: it is paced, not taken for noise.
func TestLowLimitsAreNotNoise(t *testing.T) {
	cases := []struct {
		rate     float64
		maxCalls float64 // per operation, after the first batch
	}{{1, 13}, {2, 10}, {5, 9}, {10, 8.5}}
	for _, tc := range cases {
		sm := newSim(512, tc.rate, 50*time.Millisecond)
		sm.batch(10, sm.issue)
		sm.idle(time.Second)
		r := sm.batch(10, sm.revoke)
		fl := floorOf(10*8, tc.rate)
		t.Logf("%g/s: %v, %.2f × floor, %+v", tc.rate, r, r.wall.Seconds()/fl.Seconds(), sm.s.Stats())
		require.False(t, sm.s.Stats().Noisy, "%g/s", tc.rate)
		require.Zero(t, r.errors)
		require.LessOrEqual(t, r.perOp(), tc.maxCalls, "%g/s", tc.rate)
		require.Less(t, r.wall, fl*16/10, "%g/s", tc.rate)
	}
}

// floorOf is the least time calls take under the emulators' bucket.
func floorOf(calls int, rate float64) time.Duration {
	return time.Duration((float64(calls) - max(1, rate)) / rate * float64(time.Second))
}
