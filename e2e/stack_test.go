// Package e2e tests the plugin inside the real Vault server (built by
// `make vault`), over gRPC, with Vault's own lease, rollback and plugin
// managers, against the emulated clouds on loopback.
package e2e

import (
	"context"
	"crypto"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	ncphmac "github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	nomadapi "github.com/hashicorp/nomad/api"
	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/cmd/clouds"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

func TestMain(m *testing.M) { vaulttest.Main(m) }

const (
	mount         = "multicloud"
	pluginVersion = "v0.1.0"
)

// stack is a real Vault server with the plugin mounted and every cloud of
// cmd/clouds configured against its emulator, with the emulator's roles.
type stack struct {
	vault  *vaulttest.Server
	client *api.Client
	plugin *vaulttest.Plugin
	// clouds are every cloud's running emulator, by name.
	clouds map[string]*running
	// Typed handles on the emulators, for tests about one cloud.
	aws    *awstest.TestServer
	ncloud *ncloudtest.TestServer
	nomad  *nomadtest.TestServer
}

// running is one cloud's emulator served on loopback.
type running struct {
	clouds.Cloud
	inst   emulator.Instance
	url    string
	config map[string]any
}

// newStack starts Vault (persistent storage when persistent is true) and
// every cloud's emulator, registers and mounts the plugin, and configures
// each cloud (config/<cloud>) with its emulator's roles (a role "ci" each).
func newStack(t *testing.T, persistent bool) *stack {
	t.Helper()
	p := vaulttest.BuildPlugin(t, pluginVersion)
	opts := vaulttest.Options{Plugins: []*vaulttest.Plugin{p}, LogLevel: "info"}
	var v *vaulttest.Server
	if persistent {
		v = vaulttest.StartPersistent(t, opts)
	} else {
		v = vaulttest.StartDev(t, opts)
	}
	v.RegisterPlugin(t, p)
	v.EnablePlugin(t, mount, p)
	s := &stack{vault: v, client: v.Client(t), plugin: p, clouds: map[string]*running{}}
	for _, c := range clouds.All() {
		inst, err := c.New(nil)
		require.NoError(t, err)
		srv := httptest.NewServer(inst)
		t.Cleanup(srv.Close)
		r := &running{Cloud: c, inst: inst, url: srv.URL, config: inst.Config(srv.URL)}
		s.clouds[c.Name()] = r
		s.write(t, "config/"+c.Name(), r.config)
		for _, role := range inst.Roles() {
			s.write(t, "roles/"+c.Name()+"/"+role.Name, role.Fields)
		}
		switch e := inst.(type) {
		case *awstest.Server:
			s.aws = &awstest.TestServer{Server: e, URL: srv.URL, Admin: srv.URL + emulator.AdminPrefix}
		case *ncloudtest.Server:
			s.ncloud = &ncloudtest.TestServer{Server: e, URL: srv.URL}
		case *nomadtest.Server:
			s.nomad = &nomadtest.TestServer{Server: e, URL: srv.URL, HTTP: srv}
		}
	}
	// Registered last, so it runs first, while Vault and the clouds are up.
	t.Cleanup(func() { s.requireCleanAudit(t) })
	return s
}

// requireCleanAudit (issue 14, Done means 2): when a test ends, audit finds
// in no cloud an object this mount made that no lease or unfinished create
// holds, and no index entry whose objects are gone. A provider that is not
// configured any more, or a Vault that is down, is not audited.
func (s *stack) requireCleanAudit(t *testing.T) {
	if t.Failed() {
		return
	}
	for p := range s.clouds {
		audit, err := s.client.Logical().Read(mount + "/audit/" + p)
		if err != nil || audit == nil {
			t.Logf("end-of-test audit of %s skipped: %v", p, err)
			continue
		}
		require.Empty(t, audit.Data["orphans"], "end-of-test audit of %s: orphans", p)
		require.Empty(t, audit.Data["ghosts"], "end-of-test audit of %s: ghosts", p)
	}
}

func (s *stack) write(t *testing.T, path string, data map[string]any) *api.Secret {
	t.Helper()
	sec, err := s.client.Logical().Write(mount+"/"+path, data)
	require.NoError(t, err, "write %s", path)
	return sec
}

func (s *stack) read(t *testing.T, path string) *api.Secret {
	t.Helper()
	sec, err := s.client.Logical().Read(mount + "/" + path)
	require.NoError(t, err, "read %s", path)
	require.NotNil(t, sec, "read %s", path)
	return sec
}

// issue reads creds/<provider>/<role>.
func (s *stack) issue(t *testing.T, provider, role string) *api.Secret {
	t.Helper()
	sec := s.read(t, "creds/"+provider+"/"+role)
	require.NotEmpty(t, sec.LeaseID)
	return sec
}

func (s *stack) renew(t *testing.T, leaseID string, increment time.Duration) *api.Secret {
	t.Helper()
	sec, err := s.client.Sys().Renew(leaseID, int(increment.Seconds()))
	require.NoError(t, err, "renew %s", leaseID)
	return sec
}

func (s *stack) revoke(t *testing.T, leaseID string) {
	t.Helper()
	require.NoError(t, s.client.Sys().RevokeWithOptions(&api.RevokeOptions{LeaseID: leaseID, Sync: true}), "revoke %s", leaseID)
}

// ttl returns the lease's remaining TTL as Vault reports it.
func (s *stack) ttl(t *testing.T, leaseID string) time.Duration {
	t.Helper()
	sec, err := s.client.Sys().Lookup(leaseID)
	require.NoError(t, err)
	n, err := sec.Data["ttl"].(interface{ Int64() (int64, error) }).Int64()
	require.NoError(t, err)
	return time.Duration(n) * time.Second
}

func (s *stack) nomadAPI(t *testing.T, token string) *nomadapi.Client {
	t.Helper()
	c, err := nomadapi.NewClient(&nomadapi.Config{Address: s.nomad.URL, SecretID: token})
	require.NoError(t, err)
	return c
}

// awsKeyWorks calls STS GetCallerIdentity with the key: the emulator checks
// its SigV4 signature with the key's secret.
func (s *stack) awsKeyWorks(t *testing.T, ak, sk, token string) string {
	t.Helper()
	c := sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.aws.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, token),
	})
	out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err, "the issued AWS key must pass the emulator's SigV4 check")
	return aws.ToString(out.Arn)
}

// ncloudKeyWorks signs a Sub Account API request with the key, as Ncloud's
// API gateway wants, and checks the emulator's gateway did not refuse the
// signature (errorCode 200 "Authentication Failed").
func (s *stack) ncloudKeyWorks(t *testing.T, ak, sk string) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	uri := "/api/v1/credentials"
	sig, err := ncphmac.NewSigner(sk, crypto.SHA256).Sign(http.MethodPost, uri, ak, ts)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.ncloud.URL+uri, strings.NewReader(`{"durationSec":600}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-ncp-apigw-timestamp", ts)
	req.Header.Set("x-ncp-iam-access-key", ak)
	req.Header.Set("x-ncp-apigw-signature-v2", sig)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the issued Ncloud key must pass the emulator's signature check")
}

// state returns one emulator count.
func count(state map[string]int, key string) int { return state[key] }

func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func str(v any) string { return fmt.Sprint(v) }

// createAssumableRole makes an IAM role at the emulator that the plugin's
// root user may assume, and returns its ARN.
func createAssumableRole(t *testing.T, s *stack) string {
	t.Helper()
	ak, sk := s.aws.RootCredentials()
	c := iam.New(iam.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.aws.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
	})
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + s.aws.AccountID() + `:root"},"Action":"sts:AssumeRole"}]}`
	out, err := c.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("ci-deployer"), AssumeRolePolicyDocument: aws.String(trust)})
	require.NoError(t, err)
	return aws.ToString(out.Role.Arn)
}
