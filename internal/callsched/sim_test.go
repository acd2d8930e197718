package callsched

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// This file simulates, on the fake clock, a cloud account behind the
// scheduler: the emulators' account-wide token bucket
// (internal/emulator: burst = max(1, rate), full at the start; a
// throttled request takes no token), a fixed latency per call, and the
// bench's workloads (an IAM user's issue: CreateUser, then 7 calls at
// once; its revoke: 7 calls at once, then DeleteUser). It is
// deterministic, so tests can state what the scheduler achieves.

// simAccount is the account's rate limit; rate 0 is none.
type simAccount struct {
	rate, tokens float64
	last         time.Time
	// randomThrottle is the share of calls throttled at random (the
	// emulators' throttle_rate), drawn from rng.
	randomThrottle float64
	rng            *rand.Rand
}

func newSimAccount(rate float64, now time.Time) *simAccount {
	return &simAccount{rate: rate, tokens: max(1, rate), last: now}
}

// setRate changes the limit and fills the bucket, as the emulator's
// POST /_emulator/faults does.
func (a *simAccount) setRate(rate float64, now time.Time) {
	p, rng := a.randomThrottle, a.rng
	*a = *newSimAccount(rate, now)
	a.randomThrottle, a.rng = p, rng
}

func (a *simAccount) admit(now time.Time) bool {
	if a.randomThrottle > 0 && a.rng.Float64() < a.randomThrottle {
		return false
	}
	if a.rate <= 0 {
		return true
	}
	a.tokens = min(max(1, a.rate), a.tokens+now.Sub(a.last).Seconds()*a.rate)
	a.last = now
	if a.tokens < 1 {
		return false
	}
	a.tokens--
	return true
}

// sim drives a Scheduler and a simAccount on a fake clock.
type sim struct {
	clk      *fakeClock
	s        *Scheduler
	acct     *simAccount
	latency  time.Duration
	attempts int // most attempts per call (the AWS driver: max_retries 8 + 1)

	waiting []simWait
	seq     uint64

	calls, throttled, failed int
}

type simWait struct {
	w    *waiter
	then func(*Permit)
}

func newSim(ceiling int, rate float64, latency time.Duration) *sim {
	clk := newFakeClock()
	return &sim{clk: clk, s: New(Config{Ceiling: ceiling, Clock: clk}), acct: newSimAccount(rate, clk.Now()), latency: latency, attempts: 9}
}

func (sm *sim) now() time.Time { return sm.clk.Now() }

func (sm *sim) newOp(kind providers.OperationKind) providers.Operation {
	sm.seq++
	return providers.Operation{Kind: kind, Start: sm.now(), Seq: sm.seq}
}

// call makes one cloud call of op, retrying throttles at once (the
// scheduler is the backoff), and calls done(true) when it succeeded,
// done(false) when its attempts ran out.
func (sm *sim) call(op providers.Operation, done func(ok bool)) {
	sm.attempt(op, 1, done)
}

func (sm *sim) attempt(op providers.Operation, n int, done func(bool)) {
	s := sm.s
	s.mu.Lock()
	w := s.enqueueLocked(op, sm.now())
	s.mu.Unlock()
	sm.waiting = append(sm.waiting, simWait{w: w, then: func(p *Permit) {
		sm.calls++
		ok := sm.acct.admit(sm.now())
		sm.clk.AfterFunc(sm.latency, func() {
			if ok {
				p.Done(Success)
				done(true)
				return
			}
			sm.throttled++
			p.Done(Throttled)
			if n >= sm.attempts {
				sm.failed++
				done(false)
				return
			}
			sm.attempt(op, n+1, done)
		})
	}})
}

// poll hands out the permits granted so far.
func (sm *sim) poll() {
	for progress := true; progress; {
		progress = false
		rest := sm.waiting[:0]
		var ready []simWait
		for _, sw := range sm.waiting {
			select {
			case <-sw.w.ready:
				ready = append(ready, sw)
			default:
				rest = append(rest, sw)
			}
		}
		sm.waiting = rest
		for _, sw := range ready {
			progress = true
			sw.then(sw.w.permit)
		}
	}
}

// run processes events until none is left or until deadline.
func (sm *sim) run(deadline time.Time) {
	sm.poll()
	for {
		t, ok := sm.clk.next()
		if !ok || t.After(deadline) {
			return
		}
		sm.clk.AdvanceTo(t)
		sm.poll()
	}
}

// fanOut runs n calls of op at once, then done when all ended.
func (sm *sim) fanOut(op providers.Operation, n int, done func(ok bool)) {
	left, allOK := n, true
	for range n {
		sm.call(op, func(ok bool) {
			allOK = allOK && ok
			if left--; left == 0 {
				done(allOK)
			}
		})
	}
}

// issue is an iam_user issue of the bench role: CreateUser, then 7 calls.
func (sm *sim) issue(done func(ok bool)) {
	op := sm.newOp(providers.OpIssue)
	sm.call(op, func(ok bool) {
		if !ok {
			done(false)
			return
		}
		sm.fanOut(op, 7, done)
	})
}

// revoke is its revoke: 7 calls, then DeleteUser.
func (sm *sim) revoke(done func(ok bool)) {
	op := sm.newOp(providers.OpRevoke)
	sm.fanOut(op, 7, func(ok bool) {
		if !ok {
			done(false)
			return
		}
		sm.call(op, done)
	})
}

// batchResult is what one batch of operations took.
type batchResult struct {
	ops, errors, calls, throttled int
	wall                          time.Duration
}

func (b batchResult) perOp() float64 { return float64(b.calls) / float64(b.ops-b.errors) }

func (b batchResult) String() string {
	return fmt.Sprintf("%d ops in %.2fs, %.2f calls/op, %d throttled, %d errors", b.ops, b.wall.Seconds(), b.perOp(), b.throttled, b.errors)
}

// batch starts n operations at once (op is sm.issue or sm.revoke) and
// runs until they all ended.
func (sm *sim) batch(n int, op func(func(bool))) batchResult {
	start, c0, t0 := sm.now(), sm.calls, sm.throttled
	var end time.Time
	left, errs := n, 0
	for range n {
		op(func(ok bool) {
			if !ok {
				errs++
			}
			if left--; left == 0 {
				end = sm.now()
			}
		})
	}
	sm.run(start.Add(time.Hour))
	return batchResult{ops: n, errors: errs, calls: sm.calls - c0, throttled: sm.throttled - t0, wall: end.Sub(start)}
}

// workers revokes n leases with w of Vault's revocation workers: each
// takes the next lease when its revoke ends. left(t) is recorded.
func (sm *sim) workers(n, w int) (batchResult, []time.Duration) {
	start, c0, t0 := sm.now(), sm.calls, sm.throttled
	next, left, errs := 0, n, 0
	var done []time.Duration
	var end time.Time
	var work func()
	work = func() {
		if next >= n {
			return
		}
		next++
		sm.revoke(func(ok bool) {
			if !ok {
				errs++
			}
			done = append(done, sm.now().Sub(start))
			if left--; left == 0 {
				end = sm.now()
			}
			work()
		})
	}
	for range w {
		work()
	}
	sm.run(start.Add(time.Hour))
	return batchResult{ops: n, errors: errs, calls: sm.calls - c0, throttled: sm.throttled - t0, wall: end.Sub(start)}, done
}

// idle lets time pass with no calls.
func (sm *sim) idle(d time.Duration) {
	sm.run(sm.now().Add(d))
	sm.clk.AdvanceTo(sm.now().Add(d))
}
