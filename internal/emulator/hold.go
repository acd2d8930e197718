package emulator

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Stage says at which moment a held call waits.
type Stage int

const (
	// BeforeEffect holds a request before the emulator acts on it: while it
	// waits, the cloud has not changed.
	BeforeEffect Stage = iota
	// AfterEffect holds the answer of a request the emulator has already
	// acted on: the cloud has changed, the client has not heard of it.
	AfterEffect
)

// String names the stage.
func (s Stage) String() string {
	if s == AfterEffect {
		return "after"
	}
	return "before"
}

// defaultHoldTimeout bounds how long a call stays held when the test never
// releases it.
const defaultHoldTimeout = 2 * time.Minute

// HoldSpec chooses the calls a Hold catches.
type HoldSpec struct {
	// Action is the call-log action name to hold (e.g. "CreateUser").
	Action string
	// Stage is when a caught call waits.
	Stage Stage
	// Skip lets this many matching calls through before catching any.
	Skip int
	// Limit is how many calls to catch at most; 0 catches every matching
	// call until Release.
	Limit int
	// Timeout releases a held call by itself (with None) after this long,
	// so a test that forgets to release cannot hang; 2 minutes if 0.
	Timeout time.Duration
}

// Hold is a gate on one action of one emulator: it stops the calls it
// catches, before or after their effect, until Release. Tests use it to
// crash the client (e.g. SIGKILL Vault) at a chosen step of a
// multi-call operation. Only calls that were not given a fault are
// caught. Every method is safe for concurrent use.
type Hold struct {
	spec HoldSpec

	mu       sync.Mutex
	seen     int           // matching calls so far (skipped ones included)
	caught   int           // calls caught so far
	waiting  int           // calls waiting now
	released bool          // Release was called
	fault    Fault         // the fault held before-effect calls end with
	gate     chan struct{} // closed by Release
	changed  chan struct{} // closed and replaced whenever caught changes
}

// Hold installs a gate for spec.Action and returns it. Several holds may be
// installed at once, on different actions or stages.
func (c *Core) Hold(spec HoldSpec) *Hold {
	if spec.Timeout <= 0 {
		spec.Timeout = defaultHoldTimeout
	}
	h := &Hold{spec: spec, gate: make(chan struct{}), changed: make(chan struct{})}
	c.mu.Lock()
	c.holds = append(c.holds, h)
	c.mu.Unlock()
	return h
}

// Spec returns what the hold catches.
func (h *Hold) Spec() HoldSpec { return h.spec }

// String describes the hold, e.g. "after CreateUser (skip 1)".
func (h *Hold) String() string {
	s := h.spec.Stage.String() + " " + h.spec.Action
	if h.spec.Skip > 0 {
		s += fmt.Sprintf(" (skip %d)", h.spec.Skip)
	}
	return s
}

// Caught returns how many calls the hold has caught so far.
func (h *Hold) Caught() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.caught
}

// Waiting returns how many caught calls are waiting now.
func (h *Hold) Waiting() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.waiting
}

// Wait blocks until the hold has caught at least n calls, or ctx ends.
func (h *Hold) Wait(ctx context.Context, n int) error {
	for {
		h.mu.Lock()
		caught, changed := h.caught, h.changed
		h.mu.Unlock()
		if caught >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hold %s caught %d of %d calls: %w", h, caught, n, ctx.Err())
		case <-changed:
		}
	}
}

// Release lets every held call go and catches no more. Calls held before
// their effect end with fault f: None lets them take effect as if never
// held; Drop, Throttle or ServerError answers them with that fault and
// they never take effect. Calls held after their effect send their answer
// (f does not matter to them). Releasing twice does nothing.
func (h *Hold) Release(f Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return
	}
	h.released, h.fault = true, f
	close(h.gate)
}

// catch reports whether the hold takes this call (called under the core's
// lock, so matching calls are counted in arrival order).
func (h *Hold) catch(action string, stage Stage) bool {
	if action != h.spec.Action || stage != h.spec.Stage {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return false
	}
	h.seen++
	if h.seen <= h.spec.Skip || (h.spec.Limit > 0 && h.caught >= h.spec.Limit) {
		return false
	}
	h.caught++
	h.waiting++
	close(h.changed)
	h.changed = make(chan struct{})
	return true
}

// wait blocks one caught call until Release or the timeout and returns the
// fault it must end with.
func (h *Hold) wait() Fault {
	t := time.NewTimer(h.spec.Timeout)
	defer t.Stop()
	f := None
	select {
	case <-h.gate:
		h.mu.Lock()
		f = h.fault
		h.mu.Unlock()
	case <-t.C:
	}
	h.mu.Lock()
	h.waiting--
	h.mu.Unlock()
	return f
}

// holdForLocked returns the hold that catches this call, if any (called with
// c.mu held).
func (c *Core) holdForLocked(action string, stage Stage) *Hold {
	live := c.holds[:0]
	var got *Hold
	for _, h := range c.holds {
		h.mu.Lock()
		released := h.released
		h.mu.Unlock()
		if released {
			continue
		}
		live = append(live, h)
		if got == nil && h.catch(action, stage) {
			got = h
		}
	}
	clear(c.holds[len(live):])
	c.holds = live
	return got
}

// releaseHoldsLocked releases every hold with None (Reset).
func (c *Core) releaseHoldsLocked() {
	for _, h := range c.holds {
		h.Release(None)
	}
	c.holds = nil
}

// ReleaseHolds releases every hold of the core with fault f (see
// Hold.Release). Tests call it in their cleanup, before the emulator's
// server is closed, which waits for held calls.
func (c *Core) ReleaseHolds(f Fault) {
	c.mu.Lock()
	holds := c.holds
	c.holds = nil
	c.mu.Unlock()
	for _, h := range holds {
		h.Release(f)
	}
}
