package aws

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// responseErr is an SDK error as the IAM client returns it: an API error
// inside the HTTP response error.
func responseErr(status int, code, msg string) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient},
	}}
}

func TestClassifyLookup(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want lookupResult
	}{
		{"found", nil, lookupFound},
		{"NoSuchEntity", responseErr(404, "NoSuchEntity", "The policy with arn … was not found."), lookupMissing},
		{"AccessDenied (bare API error)", &smithy.GenericAPIError{Code: "AccessDenied", Message: "User: x is not authorized to perform: iam:GetPolicy"}, lookupDenied},
		{"AccessDenied", responseErr(403, "AccessDenied", "User: x is not authorized to perform: iam:GetGroup"), lookupDenied},
		{"AccessDeniedException", responseErr(400, "AccessDeniedException", "denied"), lookupDenied},
		{"other code, not authorized", responseErr(403, "ExplicitDeny", "User: x is not authorized to perform: iam:GetRole with an explicit deny"), lookupDenied},
		{"bad key is no permission answer", responseErr(403, "InvalidClientTokenId", "The security token included in the request is invalid."), lookupFailed},
		{"ValidationError", responseErr(400, "ValidationError", "1 validation error detected"), lookupInvalid},
		{"InvalidInput", responseErr(400, "InvalidInput", "ARN arn:aws-xx:… is not valid."), lookupInvalid},
		{"Throttling", responseErr(400, "Throttling", "Rate exceeded"), lookupFailed},
		{"ServiceFailure", responseErr(500, "ServiceFailure", "unknown error"), lookupFailed},
		{"network", errors.New("dial tcp 127.0.0.1:1: connection refused"), lookupFailed},
		{"cancelled", context.Canceled, lookupFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, classifyLookup(c.err))
		})
	}
}

// syncBuffer is a log sink safe for the concurrent lookups.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A credential that may not read policies, groups or roles: the role is
// accepted (not refused, not a 502) and a warning without any secret says
// what was not checked.
func TestValidateRoleAccessDeniedWarns(t *testing.T) {
	s := awstest.New(awstest.Options{})
	var denied atomic.Int64
	hs := httptest.NewServer(DenyActions(s, &denied, "GetPolicy", "GetGroup", "GetRole"))
	t.Cleanup(hs.Close)
	ak, sk := s.RootCredentials()
	var logs syncBuffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})
	p, err := New().Open(context.Background(), providers.OpenRequest{Instance: "aws", Logger: logger, Config: providers.Values{
		"access_key": ak, "secret_key": sk, "iam_endpoint": hs.URL, "sts_endpoint": hs.URL,
		"max_retries": 2, "retry_max_backoff": time.Second, "max_concurrent_iam_calls": 10, "max_managed_policies_per_user": 10,
		"username_template": DefaultUsernameTemplate, "session_name_template": DefaultSessionNameTemplate,
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })

	// Objects that do not exist: were the reads allowed, these would be 400s.
	err = p.ValidateRole(context.Background(), providers.ValidateRoleRequest{Role: "r", CredentialType: CredentialIAMUser, Values: providers.Values{
		"policy_arns":              []string{"arn:aws:iam::123456789012:policy/nope", "arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"permissions_boundary_arn": "arn:aws:iam::123456789012:policy/no-boundary",
		"iam_groups":               []string{"no-group"},
		"user_path":                "/",
	}})
	require.NoError(t, err)
	err = p.ValidateRole(context.Background(), providers.ValidateRoleRequest{Role: "a", CredentialType: CredentialAssumedRole, Values: providers.Values{
		"role_arns": []string{"arn:aws:iam::123456789012:role/path/no-role"},
	}})
	require.NoError(t, err)
	require.EqualValues(t, 3+1+1, denied.Load(), "one read per named object, AccessDenied is not retried")

	out := logs.String()
	for _, want := range []string{"[WARN]", "iam:GetPolicy", "iam:GetGroup", "iam:GetRole", "policy/nope", "no-group", "role/path/no-role"} {
		require.Contains(t, out, want)
	}
	require.Equal(t, 3, strings.Count(out, "[WARN]"), "one warning per denied action:\n%s", out)
	require.NotContains(t, out, sk)
	require.Equal(t, 1, s.State()["users"], "nothing but the root user exists")
}

func TestSplitRoleARN(t *testing.T) {
	part, acct, name := splitRoleARN("arn:aws-cn:iam::123456789012:role/a/b/deployer")
	require.Equal(t, []string{"aws-cn", "123456789012", "deployer"}, []string{part, acct, name})
	_, _, name = splitRoleARN("arn:aws:iam::123456789012:role/top")
	require.Equal(t, "top", name)
}
