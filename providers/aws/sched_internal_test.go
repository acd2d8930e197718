package aws

import (
	"context"
	"errors"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/callsched"
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
