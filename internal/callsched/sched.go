package callsched

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// Outcome is what became of a call made with a permit.
type Outcome int

const (
	// Failed: the call was not answered by the account's rate limiter
	// either way (cancelled, not sent, a connection error, a 5xx). It
	// releases the permit and teaches nothing.
	Failed Outcome = iota
	// Success: the account served the call (any answer that is not a
	// throttle, a 4xx included: the account spent its budget on it).
	Success
	// Throttled: the account refused the call for its request rate.
	Throttled
)

// Config configures a Scheduler.
type Config struct {
	// Ceiling is the most calls in flight at once; at least 1.
	Ceiling int
	// InitialWindow is the concurrency limit at the start and after an
	// idle second, and the lowest it drops to after a throttle; 0 is 16.
	// Capped by Ceiling. A cloud that serves a request from memory and
	// rarely rate-limits may start at the ceiling.
	InitialWindow int
	// Name names the scheduler in log lines (e.g. "aws iam").
	Name string
	// Logger receives a line when the account first throttles and when the
	// learned rate changes; nil discards them.
	Logger hclog.Logger
	// Clock is the source of time; nil is the wall clock.
	Clock Clock
}

// Scheduler paces the calls of one account. It is safe for concurrent use.
type Scheduler struct {
	name  string
	log   hclog.Logger
	clock Clock

	mu       sync.Mutex
	ctl      *controller
	q        *fairQueue
	inFlight int
	arrivals uint64
	// stopTimer cancels the pending wake-up, due at timerAt (zero if none).
	stopTimer func() bool
	timerAt   time.Time
	maxSeen   int
	// grants counts the permits granted; lastFull is the count when at
	// least half the window was last in flight.
	grants, lastFull uint64
	// idleSince is when the scheduler last had nothing in flight or
	// waiting (zero while busy).
	idleSince time.Time
}

// New returns a Scheduler; a Ceiling below 1 is taken as 1.
func New(cfg Config) *Scheduler {
	if cfg.Ceiling < 1 {
		cfg.Ceiling = 1
	}
	if cfg.InitialWindow < 1 {
		cfg.InitialWindow = defaultInitialWindow
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Scheduler{name: cfg.Name, log: cfg.Logger, clock: cfg.Clock, ctl: newController(cfg.Ceiling, cfg.InitialWindow), q: newFairQueue()}
}

// Permit is the right to make one call. Done must be called exactly once
// (later calls are ignored).
type Permit struct {
	s         *Scheduler
	epoch     uint64
	burstCall bool
	grant     uint64 // its number in grant order
	once      sync.Once
}

// Acquire waits for the right to make one call and returns it, or ctx's
// error if ctx ends first (then nothing is held). Calls of operations that
// started earlier (providers.OperationFrom) go first within their kind;
// kinds take turns.
func (s *Scheduler) Acquire(ctx context.Context) (*Permit, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	op, ok := providers.OperationFrom(ctx)
	s.mu.Lock()
	now := s.clock.Now()
	if !ok {
		op = providers.Operation{Start: now}
	}
	w := s.enqueueLocked(op, now)
	s.mu.Unlock()

	select {
	case <-w.ready:
		return w.permit, nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	removed := s.q.remove(w)
	if removed {
		// Someone else may now fit (the turn of another kind).
		s.dispatchLocked(s.clock.Now())
	}
	s.mu.Unlock()
	if !removed {
		// Granted while ctx ended: hand the permit back.
		<-w.ready
		w.permit.Done(Failed)
	}
	return nil, ctx.Err()
}

// enqueueLocked queues a call of op and grants what fits.
func (s *Scheduler) enqueueLocked(op providers.Operation, now time.Time) *waiter {
	if s.arrivals == 0 || !s.idleSince.IsZero() && now.Sub(s.idleSince) >= idleRestart {
		s.ctl.restart(now)
	}
	s.idleSince = time.Time{}
	s.arrivals++
	w := &waiter{op: op, arrival: s.arrivals, index: -1, ready: make(chan struct{})}
	s.q.push(w)
	s.dispatchLocked(now)
	return w
}

// Done releases the permit and reports what became of its call.
func (p *Permit) Done(o Outcome) {
	p.once.Do(func() { p.s.done(p, o) })
}

func (s *Scheduler) done(p *Permit, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.inFlight--
	switch o {
	case Success:
		// The call used the window if at least half of it was in flight at
		// some moment since it was granted; only such calls widen it.
		s.ctl.success(now, p.epoch, p.burstCall, s.lastFull >= p.grant)
	case Throttled:
		first, wasNoisy := !s.ctl.limited, s.ctl.noisy
		if s.ctl.throttled(now, p.epoch, p.burstCall, s.inFlight) {
			if first {
				s.log.Info("the account throttled calls: pacing them from now on", "scheduler", s.name, "rate_per_s", round1(s.ctl.rate), "concurrency", s.ctl.limit())
			} else {
				s.log.Debug("throttled: pacing slower", "scheduler", s.name, "rate_per_s", round1(s.ctl.rate), "concurrency", s.ctl.limit())
			}
		}
		if s.ctl.noisy && !wasNoisy {
			s.log.Info("throttles keep coming at a lower pace: pacing down only for heavy throttling now", "scheduler", s.name, "rate_per_s", round1(s.ctl.rate))
		}
	}
	s.dispatchLocked(now)
}

// dispatchLocked grants permits while the window and the bucket allow,
// and arms a wake-up for when the bucket will have a token again.
func (s *Scheduler) dispatchLocked(now time.Time) {
	bound := false
	var wait time.Duration
	var granted []*waiter
	for s.q.len() > 0 && s.inFlight < s.ctl.limit() {
		ok, d, burstCall := s.ctl.take(now)
		if !ok {
			bound, wait = true, d
			break
		}
		w := s.q.pop()
		s.inFlight++
		s.grants++
		w.permit = &Permit{s: s, epoch: s.ctl.epoch, burstCall: burstCall, grant: s.grants}
		granted = append(granted, w)
	}
	s.maxSeen = max(s.maxSeen, s.inFlight)
	if 2*s.inFlight >= s.ctl.limit() {
		s.lastFull = s.grants
	}
	for _, w := range granted {
		close(w.ready)
	}
	if s.inFlight == 0 && s.q.len() == 0 && s.idleSince.IsZero() {
		s.idleSince = now
	}
	s.ctl.setBound(now, bound)
	if !bound {
		return
	}
	at := now.Add(wait)
	if !s.timerAt.IsZero() && !at.Before(s.timerAt) {
		return
	}
	if s.stopTimer != nil {
		s.stopTimer()
	}
	s.timerAt = at
	s.stopTimer = s.clock.AfterFunc(wait, s.wake)
}

// wake is the timer's callback.
func (s *Scheduler) wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timerAt, s.stopTimer = time.Time{}, nil
	s.dispatchLocked(s.clock.Now())
}

// Stats is a snapshot of a scheduler's state.
type Stats struct {
	// Limited reports that the account has throttled a call: calls are
	// paced at Rate per second since.
	Limited bool
	Rate    float64
	// Concurrency is the current limit on calls in flight; InFlight and
	// Waiting count the calls made and waiting; MaxInFlight is the most
	// calls ever in flight at once.
	Concurrency, InFlight, Waiting, MaxInFlight int
	// Throttles counts the throttled calls, Cuts the times the pace was
	// lowered for them.
	Throttles, Cuts uint64
	// Noisy reports that throttles kept coming whatever the pace, so only
	// heavy throttling lowers it now.
	Noisy bool
}

// Stats returns the scheduler's state.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Limited: s.ctl.limited, Rate: s.ctl.rate,
		Concurrency: s.ctl.limit(), InFlight: s.inFlight, Waiting: s.q.len(), MaxInFlight: s.maxSeen,
		Throttles: s.ctl.throttles, Cuts: s.ctl.cuts, Noisy: s.ctl.noisy,
	}
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }
