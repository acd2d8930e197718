package conformance

import (
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// checkThroughPlugin: the driver, registered in the plugin's backend with
// nothing else, serves the plugin's paths: config, role, creds, the index
// of live credentials, renew and revoke of the lease.
func checkThroughPlugin(t *testing.T, s *suite) {
	b := plugintest.New(t, providers.MustRegistry(s.h.Driver))
	inst := s.info.Name
	b.OK(logical.UpdateOperation, "config/"+inst, apiValues(s.env.Config))
	for _, r := range s.env.Roles {
		c := s.ctype(t, r)
		role := apiValues(r.Values)
		role["credential_type"] = r.CredentialType
		b.OK(logical.UpdateOperation, "roles/"+inst+"/"+r.Name, role)

		before := s.env.State()
		resp := b.OK(logical.UpdateOperation, "creds/"+inst+"/"+r.Name, apiValues(r.Params))
		require.NotNil(t, resp.Secret, "role %s: a lease", r.Name)
		require.NotEmpty(t, resp.Data)
		if s.env.Use != nil {
			s.env.Use(t, r.CredentialType, resp.Data)
		}
		list := b.OK(logical.ListOperation, "creds/"+inst+"/"+r.Name+"/", nil)
		require.Len(t, list.Data["keys"], 1, "role %s: the credential is in the index", r.Name)

		if resp.Secret.Renewable {
			_, err := b.Renew(resp.Secret, 0, time.Now())
			require.NoError(t, err, "role %s: renew", r.Name)
		}
		_, err := b.Revoke(resp.Secret)
		require.NoError(t, err, "role %s: revoke", r.Name)
		if !c.SelfExpiring {
			require.Equal(t, before, s.env.State(), "role %s: revoke left nothing", r.Name)
		}
		after, err := b.Do(logical.ListOperation, "creds/"+inst+"/"+r.Name+"/", nil)
		require.NoError(t, err)
		require.Empty(t, after.Data["keys"], "role %s: the index entry is gone", r.Name)
		b.OK(logical.DeleteOperation, "roles/"+inst+"/"+r.Name, nil)
	}
	require.Equal(t, 0, b.WALCount())
	b.OK(logical.DeleteOperation, "config/"+inst, nil)
}

// apiValues turns typed values into what the plugin's API takes.
func apiValues(v providers.Values) map[string]any {
	out := map[string]any{}
	for k, x := range v {
		if d, ok := x.(time.Duration); ok {
			out[k] = int64(d / time.Second)
			continue
		}
		out[k] = x
	}
	return out
}
