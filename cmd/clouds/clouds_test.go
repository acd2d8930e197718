package clouds_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/cmd/clouds"
)

// TestEveryCloudIsComplete: each cloud's emulator and driver agree: the
// driver is registered under the emulator's name, the emulator's config
// and roles use only fields the driver takes, and its roles name existing
// credential types.
func TestEveryCloudIsComplete(t *testing.T) {
	reg := clouds.Registry()
	require.NotEmpty(t, clouds.All())
	for _, c := range clouds.All() {
		t.Run(c.Name(), func(t *testing.T) {
			d, ok := reg.Driver(c.Name())
			require.True(t, ok, "the driver is registered under the emulator's name")
			info := d.Info()
			inst, err := c.New(nil)
			require.NoError(t, err)
			_, err = c.New(map[string]string{"no-such-option": "1"})
			require.Error(t, err, "unknown options are refused")
			srv := httptest.NewServer(inst)
			defer srv.Close()

			fields := map[string]bool{}
			for _, f := range info.ConfigFields {
				fields[f.Name] = true
			}
			for k := range inst.Config(srv.URL) {
				require.True(t, fields[k], "config field %q is one of the driver's", k)
			}
			require.NotEmpty(t, inst.Roles())
			for _, r := range inst.Roles() {
				ctype, _ := r.Fields["credential_type"].(string)
				if ctype == "" {
					ctype = info.CredentialTypes[0].Name
				}
				ct, ok := info.CredentialType(ctype)
				require.True(t, ok, "role %s: credential type %q", r.Name, ctype)
				known := map[string]bool{"credential_type": true, "ttl": true, "max_ttl": true}
				for _, f := range ct.RoleFields {
					known[f.Name] = true
				}
				for k := range r.Fields {
					require.True(t, known[k], "role %s: field %q", r.Name, k)
				}
				require.Equal(t, !ct.SelfExpiring, r.Revocable, "role %s: revocable unless self-expiring", r.Name)
			}
			require.NotEmpty(t, c.EnvPrefixes())
		})
	}
}
