package aws_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

const accountB = "210987654321"

// One instance pointed at two accounts behind the same endpoint (as AWS's
// endpoints serve every account): a lease made in account A is not
// revoked through account B, where IAM would answer NoSuchEntity; the
// config write that moves the instance is refused unless forced.
func TestTargetIsTheAccount(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	akB, skB := e.ts.AddAccount(accountB)
	e.OK(logical.UpdateOperation, "roles/aws/r", map[string]any{"policy_document": allowS3})
	lease := e.issue("r", nil)
	name := lease.Data["user_name"].(string)

	// Another spelling of the same endpoint is the same target.
	e.OK(logical.UpdateOperation, "config/aws", map[string]any{"iam_endpoint": e.ts.URL + "/", "sts_endpoint": strings.ToUpper(e.ts.URL[:4]) + e.ts.URL[4:]})

	msg := e.BadRequest(logical.UpdateOperation, "config/aws", map[string]any{"access_key": akB, "secret_key": skB},
		"AWS account "+accountB, "1 in AWS account 123456789012", "force=true")
	require.NotContains(t, msg, skB)
	e.OK(logical.UpdateOperation, "config/aws", map[string]any{"access_key": akB, "secret_key": skB, "force": true})

	_, err := e.Revoke(lease.Secret)
	require.ErrorContains(t, err, "now points at AWS account "+accountB)
	require.ErrorContains(t, err, "made in AWS account 123456789012")
	_, alive := e.ts.User(name)
	require.True(t, alive, "the user lives on in account A, and so does its lease")
	require.Zero(t, e.ts.Core().Calls().Counts["DeleteUser"], "nothing was deleted anywhere")

	ak, sk := e.ts.RootCredentials()
	e.OK(logical.UpdateOperation, "config/aws", map[string]any{"access_key": ak, "secret_key": sk, "force": true})
	_, err = e.Revoke(lease.Secret)
	require.NoError(t, err)
	_, alive = e.ts.User(name)
	require.False(t, alive)
}

// processCreds writes the credential_process answer of the SDK's default
// chain: a key whose expiration has passed, so the SDK asks the process
// again at every use, as it does for rotating role credentials.
func processCreds(t *testing.T, path, ak, sk string) {
	t.Helper()
	processSessionCreds(t, path, ak, sk, "")
}

// processSessionCreds is processCreds with a session token (STS
// temporary credentials).
func processSessionCreds(t *testing.T, path, ak, sk, token string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Version": 1, "AccessKeyId": ak, "SecretAccessKey": sk, "SessionToken": token, "Expiration": "2000-01-01T00:00:00Z"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// ambientEnv points the AWS SDK's default credential chain of this process
// at a credential_process reading credsFile, and nothing else.
func ambientEnv(t *testing.T, credsFile string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(cfg, []byte("[default]\ncredential_process = cat "+credsFile+"\n"), 0o600))
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CA_BUNDLE": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_IAM": "", "AWS_ENDPOINT_URL_STS": "",
	} {
		t.Setenv(k, v)
	}
}

// The default chain's credential can change under a running instance
// (a refreshed role session, an edited profile): the target is asked again
// for the new key, so a lease of account A is not revoked through a
// credential that now belongs to account B.
func TestTargetFollowsAmbientCredentialChange(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	akB, skB := ts.AddAccount(accountB)
	credsFile := filepath.Join(t.TempDir(), "creds.json")
	ak, sk := ts.RootCredentials()
	processCreds(t, credsFile, ak, sk)
	ambientEnv(t, credsFile)

	b := plugintest.New(t, providers.MustRegistry(aws.New()))
	b.OK(logical.UpdateOperation, "config/aws", map[string]any{"iam_endpoint": ts.URL, "sts_endpoint": ts.URL, "use_ambient_credentials": true})
	b.OK(logical.UpdateOperation, "roles/aws/r", map[string]any{"policy_document": allowS3})
	lease := b.OK(logical.ReadOperation, "creds/aws/r", nil)
	name := lease.Data["user_name"].(string)
	_, ok := ts.User(name)
	require.True(t, ok, "made in account A")

	processCreds(t, credsFile, akB, skB) // the environment now holds account B's key
	_, err := b.Revoke(lease.Secret)
	require.ErrorContains(t, err, "now points at AWS account "+accountB)
	_, ok = ts.User(name)
	require.True(t, ok, "not lost: still in account A, and its lease still exists")

	processCreds(t, credsFile, ak, sk)
	_, err = b.Revoke(lease.Secret)
	require.NoError(t, err)
	_, ok = ts.User(name)
	require.False(t, ok)
}

// recorder is an HTTP listener and client transport that records every
// request's Authorization header.
type recorder struct {
	mu   sync.Mutex
	auth []string
}

func (r *recorder) add(h string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auth = append(r.auth, h)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auth...)
}

type recordingTransport struct {
	rec  *recorder
	next http.RoundTripper
}

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.rec.add(req.Host + " " + req.Header.Get("Authorization"))
	return t.next.RoundTrip(req)
}

// A config naming an endpoint that is not AWS's own, with no access key,
// sends the environment's credentials nowhere: the write is a 400 naming
// the field, and not one request leaves the driver. With
// use_ambient_credentials=true the same write is accepted and the
// endpoint receives requests signed with the environment's key (the
// control that shows the recorder would have seen them).
func TestAmbientCredentialsStayWithAWS(t *testing.T) {
	foreign := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreign.add(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	sent := &recorder{}
	client := &http.Client{Timeout: 5 * time.Second, Transport: recordingTransport{rec: sent, next: http.DefaultTransport}}

	const envKey = "AKIAENVIRONMENT00001"
	credsFile := filepath.Join(t.TempDir(), "creds.json")
	processCreds(t, credsFile, envKey, "environment-secret")
	ambientEnv(t, credsFile)

	b := plugintest.New(t, providers.MustRegistry(aws.New(aws.WithHTTPClient(client))))
	for _, cfg := range []map[string]any{
		{"iam_endpoint": srv.URL},
		{"sts_endpoint": srv.URL},
		{"iam_endpoint": "https://iam.amazonaws.com.evil.example", "sts_endpoint": "https://sts.amazonaws.com"},
		{"iam_endpoint": "http://iam.amazonaws.com"},
	} {
		field := "iam_endpoint"
		if _, ok := cfg["iam_endpoint"]; !ok {
			field = "sts_endpoint"
		}
		msg := b.BadRequest(logical.UpdateOperation, "config/aws", cfg, field, "not one of AWS's own endpoints", "use_ambient_credentials=true")
		require.True(t, strings.HasPrefix(msg, field+": "), msg)
	}
	_, err := b.Do(logical.UpdateOperation, "roles/aws/r", map[string]any{"credential_type": "assumed_role", "role_arns": []string{"arn:aws:iam::123456789012:role/x"}})
	require.ErrorContains(t, err, "not configured")
	require.Empty(t, sent.got(), "no request left the driver")
	require.Empty(t, foreign.got(), "the foreign endpoint received nothing")

	// AWS's own endpoints may be named without the flag (nothing is sent by a config write).
	b.OK(logical.UpdateOperation, "config/aws", map[string]any{"iam_endpoint": "https://iam.amazonaws.com", "sts_endpoint": "https://sts.eu-west-1.amazonaws.com"})
	b.BadRequest(logical.UpdateOperation, "config/aws", map[string]any{"use_ambient_credentials": true, "access_key": "AKIA1", "secret_key": "x"}, "use_ambient_credentials", "access_key is set")
	require.Empty(t, sent.got())

	// The control: allowed explicitly, the endpoint gets the environment's key.
	b.OK(logical.UpdateOperation, "config/aws", map[string]any{"iam_endpoint": srv.URL, "sts_endpoint": srv.URL, "use_ambient_credentials": true})
	_, _ = b.Do(logical.UpdateOperation, "roles/aws/r", map[string]any{"credential_type": "assumed_role", "role_arns": []string{"arn:aws:iam::123456789012:role/x"}})
	got := foreign.got()
	require.NotEmpty(t, got)
	require.Contains(t, got[0], "Credential="+envKey+"/")
}
