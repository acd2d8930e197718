package nomad_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// NOMAD_ADDR and NOMAD_TOKEN are the fallbacks; other NOMAD_* variables
// change nothing; a token from the environment is not rotated.
func TestEnvironmentFallback(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	env := map[string]string{
		"NOMAD_ADDR": e.ts.URL, "NOMAD_TOKEN": e.ts.RootToken(),
		"NOMAD_REGION": "nowhere", "NOMAD_CACERT": "/nonexistent", "NOMAD_HTTP_AUTH": "u:p",
	}
	e.Restart(registry(func(k string) string { return env[k] }))
	e.OK(logical.UpdateOperation, "config/nomad", map[string]any{})
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
	resp := e.issue("r")
	_, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	e.BadRequest(logical.UpdateOperation, "config/nomad/rotate-root", nil, "token", "NOMAD_TOKEN")
}

// A config stored with a template of the earlier dialect still issues:
// the template is converted on read (text sanitized, the display name cut
// with truncate so every name fits), and long display names are cut, the
// id never.
func TestOldTemplateConvertedOnRead(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	// 60 bytes for the template behind the 18 of the mark prefix
	// (mc:<mount_id>:nomad:), too few for the longest prefix (76): the
	// template is converted for this instance.
	e.configure(map[string]any{"max_token_name_length": 78, "token_name_template": "{{.Instance}}/{{.RoleName}}/{{.DisplayName}}/{{.ID}}"})
	e.OK(logical.UpdateOperation, "roles/nomad/deploy", map[string]any{"policies": "readonly"})
	resp, err := e.B.HandleRequest(t.Context(), &logical.Request{
		Operation: logical.ReadOperation, Path: "creds/nomad/deploy", Storage: e.Storage,
		DisplayName: "oidc-" + strings.Repeat("very.long \"name\" ", 10),
	})
	require.NoError(t, err)
	require.False(t, resp.IsError(), "%v", resp.Error())
	name := resp.Data["name"].(string)
	require.LessOrEqual(t, len(name), 78)
	require.Regexp(t, `^mc:`+e.mountID()+`:nomad:nomad-deploy-oidc-very\.lon[a-z.-]*-[a-z2-7]{13}$`, name)
	_, ok := e.ts.TokenByName(name)
	require.True(t, ok)
}

// rotate-root replaces the management token: the new one works, the old
// one is deleted, and issuing still works.
func TestRotateRoot(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	old := e.ts.RootToken()
	e.configure(nil)
	before := e.ts.State()

	resp := e.OK(logical.UpdateOperation, "config/nomad/rotate-root", nil)
	require.NotEmpty(t, resp.Data["accessor_id"])
	require.NotEqual(t, resp.Data["accessor_id"], resp.Data["previous_accessor_id"])
	for _, v := range resp.Data {
		require.NotEqual(t, old, v)
	}
	_, _, err := e.client(old).ACLTokens().Self(nil)
	require.Error(t, err, "the old token is deleted")
	require.Equal(t, before, e.ts.State(), "one token replaced by one")
	tok, ok := e.ts.Token(resp.Data["accessor_id"].(string))
	require.True(t, ok)
	require.Equal(t, "management", tok.Type)
	require.True(t, tok.Global, "same global mode as the bootstrap token")

	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
	creds := e.issue("r")
	_, err = e.Revoke(creds.Secret)
	require.NoError(t, err)
}

// Revokes run concurrently (as Vault's revocation workers do) succeed, and
// the driver keeps at most 32 connections to Nomad.
func TestConcurrentRevoke(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
	e.ts.Core().SetFaults(faults(nil))
	const n = 60
	var secrets []*logical.Secret
	for range n {
		secrets = append(secrets, e.issue("r").Secret)
	}
	before := e.ts.State()
	e.ts.Core().SetFaults(emulatorLatency(20))

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, s := range secrets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Revoke(s); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, before["tokens"]-n, e.ts.State()["tokens"])
	overlap := e.ts.Core().Calls().MaxOverlap("TokenDelete")
	require.LessOrEqual(t, overlap, 32, "connections to Nomad are capped")
	require.Greater(t, overlap, 1, "revokes ran concurrently")
	t.Logf("%d revokes: %d DELETE calls, at most %d in flight", n, e.ts.Core().Count("TokenDelete"), overlap)
}
