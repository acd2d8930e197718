package cloudcreds

import (
	"errors"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{in: "aws=multicloud/creds/aws/deploy", want: Spec{KindAWS, "multicloud/creds/aws/deploy"}},
		{in: "NOMAD=/v1/multicloud/creds/nomad/ops", want: Spec{KindNomad, "multicloud/creds/nomad/ops"}},
		{in: "ncloud= multicloud/creds/ncloud/ci ", want: Spec{KindNcloud, "multicloud/creds/ncloud/ci"}},
		{in: "multicloud/creds/aws/deploy", wantErr: "want kind=path"},
		{in: "gcp=multicloud/creds/gcp/x", wantErr: `unknown kind "gcp"; valid kinds: aws, ncloud, nomad`},
		{in: "aws=", wantErr: "must be a Vault path"},
		{in: "aws=a b", wantErr: "must be a Vault path"},
		{in: "aws=multicloud//creds", wantErr: "must be a Vault path"},
		{in: "aws=multicloud/creds/aws/x?ttl=1h", wantErr: "must be a Vault path"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSpec(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestCheckSpecs(t *testing.T) {
	require.ErrorContains(t, checkSpecs(nil), "no --cred")
	require.NoError(t, checkSpecs([]Spec{{KindAWS, "a"}, {KindNomad, "b"}}))
	require.ErrorContains(t, checkSpecs([]Spec{{KindAWS, "a"}, {KindAWS, "b"}}), "two aws credentials")
}

func TestKindVars(t *testing.T) {
	exp := "2030-01-02T03:04:05Z"
	for _, tc := range []struct {
		name    string
		kind    Kind
		data    map[string]any
		environ map[string]string
		set     map[string]string
		unset   []string
		expiry  string
		wantErr string
	}{
		{name: "aws iam user", kind: KindAWS,
			data:  map[string]any{"access_key": "AKIAEXAMPLE", "secret_key": "s3cr3t-key-value"},
			set:   map[string]string{EnvAWSAccessKey: "AKIAEXAMPLE", EnvAWSSecretKey: "s3cr3t-key-value"},
			unset: []string{EnvAWSSessionToken, EnvAWSSecurityToken}},
		{name: "aws assumed role", kind: KindAWS,
			data: map[string]any{"access_key": "ASIAEXAMPLE", "secret_key": "s3cr3t-key-value", "session_token": "tok-tok-tok", "expiration": exp},
			set: map[string]string{EnvAWSAccessKey: "ASIAEXAMPLE", EnvAWSSecretKey: "s3cr3t-key-value",
				EnvAWSSessionToken: "tok-tok-tok"},
			unset: []string{EnvAWSSecurityToken}, expiry: exp},
		{name: "aws data of another kind", kind: KindAWS,
			data:    map[string]any{"secret_id": "x", "accessor_id": "y"},
			wantErr: `no "access_key" field (fields: accessor_id, secret_id); is it a credential of kind aws?`},
		{name: "ncloud", kind: KindNcloud,
			data: map[string]any{"access_key": "ncp-ak", "secret_key": "ncp-sk", "expire_time": 12},
			set:  map[string]string{EnvNcloudAccessKey: "ncp-ak", EnvNcloudSecretKey: "ncp-sk"}},
		{name: "ncloud without secret", kind: KindNcloud,
			data: map[string]any{"access_key": "ncp-ak"}, wantErr: `no "secret_key" field`},
		{name: "nomad with address", kind: KindNomad,
			data: map[string]any{"secret_id": "nomad-secret", "accessor_id": "acc", "address": "https://nomad:4646"},
			set:  map[string]string{EnvNomadToken: "nomad-secret", EnvNomadAddr: "https://nomad:4646"}},
		{name: "nomad address from the environment wins", kind: KindNomad,
			data:    map[string]any{"secret_id": "nomad-secret", "address": "https://nomad:4646"},
			environ: map[string]string{EnvNomadAddr: "https://nomad.internal:4646"},
			set:     map[string]string{EnvNomadToken: "nomad-secret"}},
		{name: "nomad without address", kind: KindNomad,
			data: map[string]any{"secret_id": "nomad-secret"},
			set:  map[string]string{EnvNomadToken: "nomad-secret"}},
		{name: "no data", kind: KindNomad, data: nil, wantErr: `no "secret_id" field (fields: none)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.kind.vars(tc.data, tc.environ)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.set, v.Set)
			require.Equal(t, tc.unset, v.Unset)
			if tc.expiry != "" {
				want, _ := time.Parse(time.RFC3339, tc.expiry)
				require.True(t, want.Equal(v.Expiry))
			} else {
				require.True(t, v.Expiry.IsZero())
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	environ := []string{"PATH=/bin", "AWS_SESSION_TOKEN=stale", "AWS_SECURITY_TOKEN=stale", "NOMAD_TOKEN=old",
		EnvAppRoleSecretID + "=approle-secret", "EMPTY="}
	vars := []Vars{
		{Set: map[string]string{EnvAWSAccessKey: "AK", EnvAWSSecretKey: "SK"}, Unset: []string{EnvAWSSessionToken, EnvAWSSecurityToken}},
		{Set: map[string]string{EnvNomadToken: "new"}},
	}
	got := mergeEnv(environ, vars, []string{EnvAppRoleSecretID})
	require.Equal(t, []string{"AWS_ACCESS_KEY_ID=AK", "AWS_SECRET_ACCESS_KEY=SK", "EMPTY=", "NOMAD_TOKEN=new", "PATH=/bin"}, got)
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"403", &api.ResponseError{StatusCode: http.StatusForbidden, Errors: []string{"permission denied"}}, ExitDenied},
		{"401", &api.ResponseError{StatusCode: http.StatusUnauthorized}, ExitDenied},
		{"400", &api.ResponseError{StatusCode: http.StatusBadRequest, Errors: []string{"unknown role"}}, ExitNotCredential},
		{"404", &api.ResponseError{StatusCode: http.StatusNotFound}, ExitNotCredential},
		{"429", &api.ResponseError{StatusCode: http.StatusTooManyRequests}, ExitUnavailable},
		{"503 sealed", &api.ResponseError{StatusCode: http.StatusServiceUnavailable, Errors: []string{"Vault is sealed"}}, ExitUnavailable},
		{"no answer", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), ExitUnavailable},
		{"already classified", failf(ExitConfig, "x"), ExitConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := classify(tc.err, "read x", ExitNotCredential)
			require.Equal(t, tc.want, CodeOf(err))
			require.Contains(t, err.Error(), "x")
		})
	}
	require.NoError(t, classify(nil, "x", ExitUsage))
	require.Equal(t, ExitInternal, CodeOf(errors.New("plain")))
	err := classify(&api.ResponseError{StatusCode: 400, Errors: []string{"a", "b"}}, "read p", ExitNotCredential)
	require.EqualError(t, err, "read p: Vault answered 400: a; b")
}

func TestShellQuote(t *testing.T) {
	for _, v := range []string{"plain", "it's", `a"b$c\d` + "`e`", "new\nline", "", "'"} {
		out, err := exec.Command("sh", "-c", "eval \"export V=$1\"; printf %s \"$V\"", "sh", shellQuote(v)).Output()
		require.NoError(t, err)
		require.Equal(t, v, string(out), "round trip of %q through sh", v)
	}
}

func TestEarliest(t *testing.T) {
	a := time.Unix(100, 0)
	b := time.Unix(50, 0)
	require.Equal(t, b, earliest(time.Time{}, a, b, time.Time{}))
	require.True(t, earliest().IsZero())
}
