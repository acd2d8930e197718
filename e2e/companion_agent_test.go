package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
)

// TestVaultAgentRendersCredentials: the real Vault Agent (bin/vault agent)
// runs integrations/vault-agent/agent.hcl as shipped: it logs in with
// AppRole and renders an AWS key and a Nomad token into creds.env; both
// work; the agent renews the leases; after the AWS lease is revoked the
// agent renders a new key, which works (Done means 5).
func TestVaultAgentRendersCredentials(t *testing.T) {
	c := newCIStack(t)
	c.write(t, "roles/aws/app", map[string]any{"credential_type": "iam_user",
		"policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess", "ttl": "10s", "max_ttl": "5m"})
	c.write(t, "roles/nomad/app", map[string]any{"policies": "readonly", "ttl": "10s", "max_ttl": "5m"})
	require.NoError(t, c.client.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}))
	_, err := c.client.Logical().Write("auth/approle/role/app", map[string]any{"token_policies": "ci-creds", "token_ttl": "1m"})
	require.NoError(t, err)
	rid, err := c.client.Logical().Read("auth/approle/role/app/role-id")
	require.NoError(t, err)
	sid, err := c.client.Logical().Write("auth/approle/role/app/secret-id", nil)
	require.NoError(t, err)
	before := c.cloudCounts()

	// The shipped files, unchanged, in the agent's working directory.
	dir := t.TempDir()
	src := filepath.Join(vaulttest.RepoRoot(t), "integrations", "vault-agent")
	for _, f := range []string{"agent.hcl", "creds.env.ctmpl"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "role-id"), []byte(str(rid.Data["role_id"])), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret-id"), []byte(str(sid.Data["secret_id"])), 0o600))

	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	require.NoError(t, err)
	agent := exec.Command(vaulttest.FindVault(t), "agent", "-config=agent.hcl", "-log-level=info")
	agent.Dir = dir
	agent.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "VAULT_ADDR=" + c.vault.Addr()}
	agent.Stdout, agent.Stderr = logf, logf
	agent.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, agent.Start())
	exited := make(chan struct{})
	go func() { _ = agent.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = agent.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = agent.Process.Kill()
			<-exited
		}
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "agent.log"))
			t.Logf("agent log (last 3000 bytes):\n%s", tail(string(b), 3000))
		}
		res := c.vault.CLI(t, "lease", "revoke", "-prefix", "-sync", mount+"/creds")
		require.Equal(t, 0, res.ExitCode, res.Stderr)
	})

	rendered := filepath.Join(dir, "creds.env")
	read := func() map[string]string {
		b, err := os.ReadFile(rendered)
		if err != nil {
			return nil
		}
		out := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
				out[k] = v
			}
		}
		if out["AWS_ACCESS_KEY_ID"] == "" || out["NOMAD_TOKEN"] == "" {
			return nil
		}
		return out
	}
	var first map[string]string
	started := time.Now()
	eventually(t, "the agent to render creds.env", 60*time.Second, func() bool { first = read(); return first != nil })
	renderTook := time.Since(started)
	fi, err := os.Stat(rendered)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.Contains(t, awsKeyWorksNoFail(c, first["AWS_ACCESS_KEY_ID"], first["AWS_SECRET_ACCESS_KEY"]), ":user/")
	self, _, err := c.nomadAPI(t, first["NOMAD_TOKEN"]).ACLTokens().Self(nil)
	require.NoError(t, err, "the rendered Nomad token authenticates")
	require.Equal(t, []string{"readonly"}, self.Policies)
	require.Equal(t, c.nomad.URL, first["NOMAD_ADDR"])

	// The agent renews the leases (10 s TTL) while they live.
	awsLease := onlyLease(t, c, "aws", "app")
	nomadLease := onlyLease(t, c, "nomad", "app")
	eventually(t, "the agent to renew both leases", 20*time.Second, func() bool {
		for _, id := range []string{awsLease, nomadLease} {
			l, err := c.client.Sys().Lookup(id)
			if err != nil || l.Data["last_renewal"] == nil {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Until(started.Add(renderTook + 11*time.Second))) // past the first lease's original TTL
	_, err = c.client.Sys().Lookup(awsLease)
	require.NoError(t, err, "renewed past its TTL")
	require.Equal(t, first["AWS_ACCESS_KEY_ID"], read()["AWS_ACCESS_KEY_ID"], "a renewal does not re-render")

	// Revoke the AWS lease: the key dies, the agent renders a new one.
	revoked := time.Now()
	c.revoke(t, awsLease)
	require.Equal(t, before.aws["users"], c.aws.State()["users"], "the old key's user is gone")
	var second map[string]string
	eventually(t, "the agent to render a new AWS key", 30*time.Second, func() bool {
		second = read()
		return second != nil && second["AWS_ACCESS_KEY_ID"] != first["AWS_ACCESS_KEY_ID"]
	})
	rerender := time.Since(revoked)
	require.Contains(t, awsKeyWorksNoFail(c, second["AWS_ACCESS_KEY_ID"], second["AWS_SECRET_ACCESS_KEY"]), ":user/")
	require.NotContains(t, awsKeyWorksNoFail(c, first["AWS_ACCESS_KEY_ID"], first["AWS_SECRET_ACCESS_KEY"]), ":user/", "the revoked key is refused")
	require.Equal(t, before.aws["users"]+1, c.aws.State()["users"])
	_, _, err = c.nomadAPI(t, second["NOMAD_TOKEN"]).ACLTokens().Self(nil)
	require.NoError(t, err, "the Nomad token in the new file still works")
	t.Logf("agent: first render %s after start; new AWS key rendered %s after its lease was revoked",
		renderTook.Round(100*time.Millisecond), rerender.Round(100*time.Millisecond))
}

// onlyLease returns the one live lease of a role.
func onlyLease(t *testing.T, c *ciStack, provider, role string) string {
	t.Helper()
	prefix := mount + "/creds/" + provider + "/" + role + "/"
	list, err := c.client.Logical().List("sys/leases/lookup/" + prefix)
	require.NoError(t, err)
	require.NotNil(t, list)
	keys := list.Data["keys"].([]any)
	require.Len(t, keys, 1)
	return prefix + str(keys[0])
}

// awsKeyWorksNoFail is awsKeyWorks that returns the error text instead of
// failing, for keys expected to be refused.
func awsKeyWorksNoFail(c *ciStack, ak, sk string) string {
	cl := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.aws.URL),
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")})
	out, err := cl.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		return "refused: " + strings.ReplaceAll(err.Error(), sk, "<redacted>")
	}
	return aws.ToString(out.Arn)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
