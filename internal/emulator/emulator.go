// Package emulator holds what every test cloud shares and that is not part
// of any cloud's protocol: fault injection (latency, an account-wide request
// rate limit, random throttling, 5xx, dropped connections, failing the next
// calls of one action), holds that stop a chosen call before or after its
// effect (hold.go), per-action call counts with an in-flight log, and the
// admin endpoints under /_emulator.
//
// Each emulator (awstest, ncloudtest, nomadtest) speaks its own cloud's wire
// protocol and turns a Fault into that cloud's own error answer; this package
// never writes a cloud response.
package emulator

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"time"
)

// AdminPrefix is the path prefix of the admin endpoints of every emulator.
const AdminPrefix = "/_emulator"

// Faults are the fault-injection settings, as posted to /_emulator/faults.
type Faults struct {
	// LatencyMS delays every cloud request by this many milliseconds.
	LatencyMS int `json:"latency_ms"`
	// RateLimitRPS is an account-wide token bucket (burst = max(1, rps));
	// requests over it are answered with the cloud's throttling error.
	RateLimitRPS float64 `json:"rate_limit_rps"`
	// ThrottleRate is the probability (0..1) of a throttling answer.
	ThrottleRate float64 `json:"throttle_rate"`
	// ErrorRate is the probability (0..1) of a 5xx answer.
	ErrorRate float64 `json:"error_rate"`
	// DropRate is the probability (0..1) that the connection is closed
	// without an answer.
	DropRate float64 `json:"drop_rate"`
	// FailActions fails the next N calls of the named action with a 5xx
	// answer (the count goes down by one per failed call).
	FailActions map[string]int `json:"fail_actions,omitempty"`
}

// Fault says how the emulator must answer one request.
type Fault int

const (
	// None: serve the request normally.
	None Fault = iota
	// Throttle: answer with the cloud's throttling / rate-limit error.
	Throttle
	// ServerError: answer with the cloud's 5xx error.
	ServerError
	// Drop: close the connection without an answer (see DropConnection).
	Drop
)

// Call is one finished or running request in the call log.
type Call struct {
	Action string    `json:"action"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end,omitempty"`
	Fault  string    `json:"fault,omitempty"`
}

// CallReport is the answer of GET /_emulator/calls.
type CallReport struct {
	Counts      map[string]int `json:"counts"`
	Total       int            `json:"total"`
	MaxInFlight int            `json:"max_in_flight"`
	Log         []Call         `json:"log"`
}

// maxLog bounds the call log so a long soak cannot grow memory unbounded.
const maxLog = 20000

// Core is the shared, concurrency-safe fault and call bookkeeping of one
// emulated service. The zero value is not usable; call NewCore.
type Core struct {
	mu          sync.Mutex
	faults      Faults
	tokens      float64
	lastRefill  time.Time
	counts      map[string]int
	log         []Call
	inFlight    int
	maxInFlight int
	rng         *rand.Rand
	holds       []*Hold // see hold.go
}

// NewCore returns a Core with no faults and empty counters.
func NewCore() *Core {
	c := &Core{}
	c.resetLocked()
	return c
}

func (c *Core) resetLocked() {
	c.faults = Faults{}
	c.tokens = 0
	c.lastRefill = time.Now()
	c.counts = map[string]int{}
	c.log = nil
	c.inFlight = 0
	c.maxInFlight = 0
	c.rng = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15))
	c.releaseHoldsLocked()
}

// SetFaults replaces the fault settings.
func (c *Core) SetFaults(f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fa := make(map[string]int, len(f.FailActions))
	for k, v := range f.FailActions {
		fa[k] = v
	}
	f.FailActions = fa
	c.faults = f
	c.tokens = f.RateLimitRPS
	if c.tokens < 1 {
		c.tokens = 1
	}
	c.lastRefill = time.Now()
}

// Faults returns the current fault settings.
func (c *Core) Faults() Faults {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.faults
	f.FailActions = make(map[string]int, len(c.faults.FailActions))
	for k, v := range c.faults.FailActions {
		f.FailActions[k] = v
	}
	return f
}

// Reset clears faults, counters and the call log.
func (c *Core) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked()
}

// Enter records one request for action, applies latency, and decides its
// fault. The caller must call the returned done function when the answer
// has been written (it closes the call's in-flight window), before the
// handler returns. A Hold may stop the call in Enter (before its effect)
// or in done (after it).
func (c *Core) Enter(action string) (Fault, func()) {
	c.mu.Lock()
	f := c.faults
	fault := c.decideLocked(action)
	var before *Hold
	if fault == None {
		before = c.holdForLocked(action, BeforeEffect)
	}
	c.counts[action]++
	c.inFlight++
	if c.inFlight > c.maxInFlight {
		c.maxInFlight = c.inFlight
	}
	idx := -1
	if len(c.log) < maxLog {
		c.log = append(c.log, Call{Action: action, Start: time.Now(), Fault: fault.String()})
		idx = len(c.log) - 1
	}
	c.mu.Unlock()

	if f.LatencyMS > 0 {
		time.Sleep(time.Duration(f.LatencyMS) * time.Millisecond)
	}
	if before != nil {
		if fault = before.wait(); fault != None {
			c.mu.Lock()
			if idx >= 0 && idx < len(c.log) {
				c.log[idx].Fault = fault.String()
			}
			c.mu.Unlock()
		}
	}
	var once sync.Once
	return fault, func() {
		once.Do(func() {
			if fault == None {
				c.mu.Lock()
				after := c.holdForLocked(action, AfterEffect)
				c.mu.Unlock()
				if after != nil {
					// The handler has acted and written its answer into
					// net/http's buffer, which is sent only when the
					// handler returns: the client hears nothing yet.
					after.wait()
				}
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			c.inFlight--
			if idx >= 0 && idx < len(c.log) {
				c.log[idx].End = time.Now()
			}
		})
	}
}

func (c *Core) decideLocked(action string) Fault {
	if n := c.faults.FailActions[action]; n > 0 {
		c.faults.FailActions[action] = n - 1
		return ServerError
	}
	if rps := c.faults.RateLimitRPS; rps > 0 {
		now := time.Now()
		burst := rps
		if burst < 1 {
			burst = 1
		}
		c.tokens += now.Sub(c.lastRefill).Seconds() * rps
		if c.tokens > burst {
			c.tokens = burst
		}
		c.lastRefill = now
		if c.tokens < 1 {
			return Throttle
		}
		c.tokens--
	}
	r := c.rng.Float64()
	switch {
	case r < c.faults.DropRate:
		return Drop
	case r < c.faults.DropRate+c.faults.ThrottleRate:
		return Throttle
	case r < c.faults.DropRate+c.faults.ThrottleRate+c.faults.ErrorRate:
		return ServerError
	}
	return None
}

// String names the fault for the call log.
func (f Fault) String() string {
	switch f {
	case Throttle:
		return "throttle"
	case ServerError:
		return "error"
	case Drop:
		return "drop"
	}
	return ""
}

// Calls returns a snapshot of counts, the peak number of requests in flight
// and the call log.
func (c *Core) Calls() CallReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := CallReport{Counts: make(map[string]int, len(c.counts)), MaxInFlight: c.maxInFlight, Log: append([]Call(nil), c.log...)}
	for k, v := range c.counts {
		r.Counts[k] = v
		r.Total += v
	}
	return r
}

// Count returns how many requests of action were received.
func (c *Core) Count(action string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[action]
}

// MaxOverlap returns the largest number of calls whose action is in actions
// (all actions when empty) that were in flight at the same instant, from
// the call log. Tests use it to show that calls were concurrent without
// measuring wall time.
func (r CallReport) MaxOverlap(actions ...string) int {
	want := map[string]bool{}
	for _, a := range actions {
		want[a] = true
	}
	type ev struct {
		t     time.Time
		delta int
	}
	var evs []ev
	for _, c := range r.Log {
		if len(want) > 0 && !want[c.Action] {
			continue
		}
		end := c.End
		if end.IsZero() {
			end = time.Now()
		}
		evs = append(evs, ev{c.Start, +1}, ev{end, -1})
	}
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].t.Equal(evs[j].t) {
			return evs[i].delta < evs[j].delta // close before open at the same instant
		}
		return evs[i].t.Before(evs[j].t)
	})
	cur, max := 0, 0
	for _, e := range evs {
		cur += e.delta
		if cur > max {
			max = cur
		}
	}
	return max
}

// DropConnection closes the client's connection without writing an answer,
// as a dropped connection or a crashed load balancer would.
func DropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Not hijackable (HTTP/2): abort the handler, which resets the stream.
	panic(http.ErrAbortHandler)
}

// AdminHandler serves GET state, GET calls, POST faults and POST reset
// under AdminPrefix. state returns the live object counts of the service;
// reset, if not nil, restores the service's objects to its fixtures (the
// core's faults and counters are reset in any case).
func (c *Core) AdminHandler(state func() map[string]int, reset func()) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+AdminPrefix+"/state", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, state())
	})
	mux.HandleFunc("GET "+AdminPrefix+"/calls", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, c.Calls())
	})
	mux.HandleFunc("GET "+AdminPrefix+"/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, c.Faults())
	})
	mux.HandleFunc("POST "+AdminPrefix+"/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("invalid faults: %v", err)})
			return
		}
		if err := f.Validate(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		c.SetFaults(f)
		writeJSON(w, http.StatusOK, c.Faults())
	})
	mux.HandleFunc("POST "+AdminPrefix+"/reset", func(w http.ResponseWriter, _ *http.Request) {
		c.Reset()
		if reset != nil {
			reset()
		}
		writeJSON(w, http.StatusOK, state())
	})
	return mux
}

// Validate checks that rates are probabilities and nothing is negative.
func (f Faults) Validate() error {
	for name, v := range map[string]float64{"throttle_rate": f.ThrottleRate, "error_rate": f.ErrorRate, "drop_rate": f.DropRate} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%s must be between 0 and 1, got %v", name, v)
		}
	}
	if f.ThrottleRate+f.ErrorRate+f.DropRate > 1 {
		return fmt.Errorf("throttle_rate + error_rate + drop_rate must not exceed 1")
	}
	if f.LatencyMS < 0 {
		return fmt.Errorf("latency_ms must not be negative")
	}
	if f.RateLimitRPS < 0 {
		return fmt.Errorf("rate_limit_rps must not be negative")
	}
	for a, n := range f.FailActions {
		if n < 0 {
			return fmt.Errorf("fail_actions[%s] must not be negative", a)
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
