package aws

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/hashicorp/go-hclog"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/callsched"
)

// Every IAM and STS call of an instance goes through a call scheduler
// (internal/callsched): IAM and STS rate-limit each account separately,
// so each service has its own, shared by every request of the instance.
// The scheduler learns the account's rate from its Throttling answers and
// paces the attempts; max_concurrent_iam_calls is the ceiling of IAM calls
// in flight, not the pace. Attempts, not calls, are scheduled: a retry
// waits its turn like any call, and a throttled attempt is retried without
// a backoff sleep (the scheduler's pace is the backoff), so throttled
// retries do not spend the account's budget.

// stsCeiling caps the STS calls of an instance in flight (AssumeRole, the
// identity check).
const stsCeiling = 64

// schedulers are an instance's IAM and STS call schedulers.
type schedulers struct {
	iam, sts *callsched.Scheduler
}

func newSchedulers(s *settings, log hclog.Logger) schedulers {
	return schedulers{
		iam: callsched.New(callsched.Config{Ceiling: s.maxConcurrent, Name: "aws iam", Logger: log}),
		sts: callsched.New(callsched.Config{Ceiling: stsCeiling, Name: "aws sts", Logger: log}),
	}
}

// scheduleWith returns an API option that puts every attempt of a client
// through sched. The first attempt waits for its permit in the Initialize
// step, before the request is built: a call waiting its turn holds little
// memory (a mass revocation queues a thousand calls). Retries wait in the
// Finalize step, right after the retry loop and before signing. Either
// way an attempt is signed when it is sent, not when it started waiting.
func scheduleWith(sched *callsched.Scheduler) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CallSchedulerAdmission",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				permit, err := sched.Acquire(ctx)
				if err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, err
				}
				first := &firstPermit{p: permit}
				defer first.release() // not sent (a build error): hand it back
				return next.HandleInitialize(context.WithValue(ctx, firstPermitKey{}, first), in)
			}), middleware.Before)
		if err != nil {
			return err
		}
		return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("CallScheduler",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				permit := takeFirstPermit(ctx)
				if permit == nil {
					var err error
					if permit, err = sched.Acquire(ctx); err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
				}
				out, md, err := next.HandleFinalize(ctx, in)
				permit.Done(outcome(err))
				return out, md, err
			}), "Retry", middleware.After)
	}
}

// firstPermit carries the permit of a call's first attempt from the
// Initialize step to the Finalize step; the first attempt takes it.
type firstPermit struct {
	mu sync.Mutex
	p  *callsched.Permit
}

type firstPermitKey struct{}

// takeFirstPermit returns the first attempt's permit once, nil after.
func takeFirstPermit(ctx context.Context) *callsched.Permit {
	f, _ := ctx.Value(firstPermitKey{}).(*firstPermit)
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.p
	f.p = nil
	return p
}

func (f *firstPermit) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.p != nil {
		f.p.Done(callsched.Failed)
		f.p = nil
	}
}

// outcome classifies an attempt's result for the scheduler: a throttling
// answer (the SDK's own list of throttle codes and an unmodelled 429);
// any other answer of the service below 500 (it counted against the
// account's rate, e.g. NoSuchEntity); everything else (5xx, transport
// errors, cancellation) teaches nothing.
func outcome(err error) callsched.Outcome {
	if err == nil {
		return callsched.Success
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == awsv2.TrueTernary {
		return callsched.Throttled
	}
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if errors.As(err, &ae) && errors.As(err, &re) && re.HTTPStatusCode() < http.StatusInternalServerError {
		return callsched.Success
	}
	return callsched.Failed
}

// schedBackoff is the retry backoff under a scheduler: none after a
// throttle (the scheduler paces the retry with every other call), the
// given backoff after other retryable failures (5xx, connection errors).
type schedBackoff struct{ other retry.BackoffDelayer }

// BackoffDelay implements retry.BackoffDelayer.
func (b schedBackoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == awsv2.TrueTernary {
		return 0, nil
	}
	return b.other.BackoffDelay(attempt, err)
}
