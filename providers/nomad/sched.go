package nomad

import (
	"io"
	"net/http"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/callsched"
)

// Every request of an instance goes through a call scheduler
// (internal/callsched) in the HTTP client's transport. Nomad answers 429
// when a request is rate limited (the api package treats 429 as "the call
// being rate limited" and retriable: isCallRetriable in
// github.com/hashicorp/nomad/api retry.go); the scheduler learns the rate
// from those answers and paces the requests. A rate-limited request was not
// served, so the transport sends it again when the scheduler allows,
// without a backoff sleep, creates included.

const (
	// callCeiling caps the requests to Nomad in flight per instance; the
	// transport allows as many connections.
	callCeiling = 128
	// maxPacedAttempts bounds the sends of one request answered 429.
	maxPacedAttempts = 10
)

// schedTransport is an http.RoundTripper that schedules each attempt.
type schedTransport struct {
	next  http.RoundTripper
	sched *callsched.Scheduler
}

// scheduled wraps next. Nomad serves ACL requests from memory and rarely
// rate-limits them, so the window starts at the ceiling: a burst of
// issues goes out at once, as Vault's builtin engine sends it.
func scheduled(next http.RoundTripper) *schedTransport {
	return &schedTransport{next: next, sched: callsched.New(callsched.Config{
		Ceiling: callCeiling, InitialWindow: callCeiling, Name: "nomad",
	})}
}

// RoundTrip implements http.RoundTripper.
func (t *schedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		permit, err := t.sched.Acquire(req.Context())
		if err != nil {
			return nil, err
		}
		r := req
		if attempt > 1 {
			r = req.Clone(req.Context())
			if req.GetBody != nil {
				if r.Body, err = req.GetBody(); err != nil {
					permit.Done(callsched.Failed)
					return nil, err
				}
			}
		}
		resp, err := t.next.RoundTrip(r)
		o := outcome(resp, err)
		permit.Done(o)
		if o != callsched.Throttled || attempt >= maxPacedAttempts || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return resp, err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}
}

// CloseIdleConnections lets http.Client.CloseIdleConnections (api.Client's
// Close) reach the wrapped transport.
func (t *schedTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// outcome classifies an attempt: 429 is a throttle; any other answer
// below 500 was served; 5xx and transport errors teach nothing.
func outcome(resp *http.Response, err error) callsched.Outcome {
	switch {
	case err != nil || resp.StatusCode >= http.StatusInternalServerError:
		return callsched.Failed
	case resp.StatusCode == http.StatusTooManyRequests:
		return callsched.Throttled
	}
	return callsched.Success
}
