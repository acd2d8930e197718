package ncloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/callsched"
)

// Every attempt of an instance's calls goes through a call scheduler
// (internal/callsched), one per API (STS and Sub Account are separate API
// Gateway products with their own limits): it learns the rate from the
// API Gateway's "Rate Limited" answers (HTTP 429, errorCode 420,
// api-call-lgc-errorhandling) and paces the calls. A rate-limited attempt
// is retried without a backoff sleep: the scheduler's pace is the
// backoff, so retries do not spend the rate budget.

// callCeiling caps an API's calls in flight per instance.
const callCeiling = 128

// maxPacedRetries bounds the rate-limited attempts of one idempotent call
// that do not count against max_retries: while the scheduler finds the
// rate (a sudden limit can take a few cuts), a call may be refused more
// often than max_retries allows, though each refusal costs the budget
// nothing and the retry waits its turn.
const maxPacedRetries = 10

// schedule sets up the schedulers of an instance's clients.
func schedule(logger hclog.Logger, clients map[string]*client) {
	for name, cl := range clients {
		cl.sched = callsched.New(callsched.Config{Ceiling: callCeiling, Name: "ncloud " + name, Logger: logger})
	}
}

// acquire waits for the client's scheduler (if any) to allow one attempt
// of op and returns what to call with the attempt's error when it ended.
func (cl *client) acquire(ctx context.Context, op string) (func(error), error) {
	if cl.sched == nil {
		return func(error) {}, nil
	}
	permit, err := cl.sched.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return func(err error) { permit.Done(outcome(err)) }, nil
}

// outcome classifies an attempt for the scheduler: a 429 is a throttle;
// any other Ncloud answer below 500 was served (it counted against the
// rate); 5xx, transport errors and cancellation teach nothing.
func outcome(err error) callsched.Outcome {
	if err == nil {
		return callsched.Success
	}
	var ae *apiError
	if !errors.As(err, &ae) || ae.status == 0 || ae.status >= http.StatusInternalServerError {
		return callsched.Failed
	}
	if ae.status == http.StatusTooManyRequests {
		return callsched.Throttled
	}
	return callsched.Success
}

// pacedRetry returns 1 (one more attempt) for a rate-limited attempt of
// an idempotent call paced by the scheduler, at most maxPacedRetries times
// per call (counted in *paced), else 0.
func (cl *client) pacedRetry(idempotent bool, err error, paced *int) int {
	if !idempotent || cl.sched == nil || outcome(err) != callsched.Throttled || *paced >= maxPacedRetries {
		return 0
	}
	*paced++
	return 1
}

// retryDelay is the wait before attempt i (1-based) after err: none after
// a rate-limited answer when the scheduler paces the retry, else the
// jittered backoff.
func (cl *client) retryDelay(i int, err error) time.Duration {
	if cl.sched != nil && outcome(err) == callsched.Throttled {
		return 0
	}
	return backoff(i)
}
