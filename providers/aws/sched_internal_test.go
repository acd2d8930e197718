package aws

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/callsched"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

func TestOutcome(t *testing.T) {
	answer := func(status int, code string) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "m"},
		}}
	}
	cases := []struct {
		name string
		err  error
		want callsched.Outcome
	}{
		{"success", nil, callsched.Success},
		{"IAM Throttling", answer(400, "Throttling"), callsched.Throttled},
		{"unmodelled 429", &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 429}}, Err: errors.New("too many")}}, callsched.Throttled},
		{"NoSuchEntity is a served call", answer(404, "NoSuchEntity"), callsched.Success},
		{"DeleteConflict is a served call", answer(409, "DeleteConflict"), callsched.Success},
		{"LimitExceeded is a quota, not a rate", answer(409, "LimitExceeded"), callsched.Success},
		{"5xx teaches nothing", answer(500, "ServiceFailure"), callsched.Failed},
		{"transport error", errors.New("connection reset"), callsched.Failed},
		{"cancelled", context.Canceled, callsched.Failed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, outcome(tc.err))
		})
	}
}

func TestSchedBackoff(t *testing.T) {
	b := schedBackoff{fullJitter{base: 100e6, max: 1e9}}
	d, err := b.BackoffDelay(3, &smithy.GenericAPIError{Code: "Throttling"})
	require.NoError(t, err)
	require.Zero(t, d, "the scheduler paces a throttled retry")
	var sum int64
	for range 100 {
		d, err = b.BackoffDelay(3, errors.New("connection reset"))
		require.NoError(t, err)
		require.LessOrEqual(t, int64(d), int64(8e8))
		sum += int64(d)
	}
	require.Positive(t, sum, "other failures back off")
}

// Every attempt holds a permit, the first one from before its request is
// built, and every permit is handed back: after throttled, failed and
// successful calls nothing is left in flight, and with a ceiling of 1 no
// two attempts overlap.
func TestSchedulerMiddlewareReleasesEveryPermit(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	ak, sk := ts.RootCredentials()
	sched := callsched.New(callsched.Config{Ceiling: 1})
	s := &settings{maxRetries: 3, maxBackoff: 10 * time.Millisecond}
	client := iam.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, ""),
		Retryer: func() awsv2.Retryer { return s.retryer() }}, func(o *iam.Options) {
		o.BaseEndpoint = awsv2.String(ts.URL)
		o.APIOptions = append(o.APIOptions, scheduleWith(sched))
	})
	ts.Core().SetFaults(emulator.Faults{LatencyMS: 5, FailActions: map[string]int{"GetUser": 2}})
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			_, err := client.GetUser(context.Background(), &iam.GetUserInput{UserName: awsv2.String("nobody")})
			require.Equal(t, "NoSuchEntity", errorCode(err))
		})
	}
	wg.Wait()
	st := sched.Stats()
	require.Zero(t, st.InFlight)
	require.Zero(t, st.Waiting)
	require.Equal(t, 1, st.MaxInFlight)
	require.Equal(t, 1, ts.Core().Calls().MaxOverlap())
	require.Equal(t, 8, ts.Core().Count("GetUser"), "6 calls, 2 of them retried after a 5xx")

	// A call cancelled while it waits for its first permit leaves nothing.
	held, err := sched.Acquire(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = client.GetUser(ctx, &iam.GetUserInput{UserName: awsv2.String("nobody")})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	held.Done(callsched.Success)
	require.Zero(t, sched.Stats().InFlight)
	require.Equal(t, 8, ts.Core().Count("GetUser"), "the cancelled call was not sent")
}
