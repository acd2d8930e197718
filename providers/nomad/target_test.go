package nomad_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// The target is the cluster's API host:port and the region the instance
// acts in, read from /v1/agent/self once; it does not depend on the token.
func TestTarget(t *testing.T) {
	ts := nomadtest.Start(t, nomadtest.Options{Regions: []string{"global", "east"}, LocalRegion: "east", AuthoritativeRegion: "global"})
	host := mustHost(t, ts.URL)
	ctx := context.Background()

	p := openProvider(t, ts.URL, ts.RootToken(), nil)
	got, err := p.Target(ctx)
	require.NoError(t, err)
	require.Equal(t, providers.Target{ID: "nomad:" + host + "/east", Description: "Nomad region east at " + host + " (ACL authoritative region global)"}, got)
	_, err = p.Target(ctx)
	require.NoError(t, err)
	_, err = p.Prepare(ctx, createRequest(providers.Values{"type": "client", "policies": []string{"readonly"}, "global": true}))
	require.NoError(t, err)
	require.Equal(t, 1, ts.Core().Count("AgentSelf"), "read once, then cached")

	// Another management token of the same cluster: the same target.
	other, _, err := nomadClient(t, ts.URL, ts.RootToken()).ACLTokens().Create(managementToken(), nil)
	require.NoError(t, err)
	same, err := openProvider(t, ts.URL, other.SecretID, nil).Target(ctx)
	require.NoError(t, err)
	require.Equal(t, got, same)

	// The region the config names.
	global, err := openProvider(t, ts.URL, ts.RootToken(), providers.Values{"region": "global"}).Target(ctx)
	require.NoError(t, err)
	require.Equal(t, "nomad:"+host+"/global", global.ID)

	// A failure to read it is an error, and not cached.
	p = openProvider(t, ts.URL, ts.RootToken(), providers.Values{"max_retries": 2})
	ts.Core().SetFaults(faults(map[string]int{"AgentSelf": 3}))
	_, err = p.Target(ctx)
	require.ErrorContains(t, err, "ReadAgentSelf")
	again, err := p.Target(ctx)
	require.NoError(t, err)
	require.Equal(t, got, again)
}

// A lease is bound to the cluster that issued it: pointing the instance at
// another Nomad cluster (both regions named "global") is refused while the
// lease lives; forced, the lease refuses to revoke there (where Nomad
// would answer "nonexistent"); pointed back, it revokes.
func TestLeaseBoundToItsCluster(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly"})
	resp := e.issue("r")
	accessor := resp.Data["accessor_id"].(string)

	b := nomadtest.Start(t, nomadtest.Options{})
	seedACL(t, b.URL, b.RootToken(), nil)
	other := map[string]any{"address": b.URL, "token": b.RootToken()}
	e.BadRequest(logical.UpdateOperation, "config/nomad", other, "nomad:"+mustHost(t, b.URL)+"/global", "1 in Nomad region global at "+mustHost(t, e.ts.URL))
	other["force"] = true
	e.OK(logical.UpdateOperation, "config/nomad", other)

	_, err := e.Revoke(resp.Secret)
	require.ErrorContains(t, err, fmt.Sprintf("was made in Nomad region global at %s", mustHost(t, e.ts.URL)))
	require.Zero(t, b.Core().Count("TokenDelete"), "nothing asked of the other cluster")
	_, ok := e.ts.Token(accessor)
	require.True(t, ok)

	e.configure(map[string]any{"force": true})
	_, err = e.Revoke(resp.Secret)
	require.NoError(t, err)
	_, ok = e.ts.Token(accessor)
	require.False(t, ok)
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Host
}
