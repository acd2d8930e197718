package providers_test

import (
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/cmd/clouds"
)

// TestEveryInventoryTellsTheTruth: what each emulator's Inventory says
// about the objects of its first Revocable role holds through an issue and
// a revoke by the plugin: the kind is the State key that counts them, the
// names are the live ones, the creds response names the object and the
// secret in the fields given, the create and the delete are the actions
// given.
func TestEveryInventoryTellsTheTruth(t *testing.T) {
	for _, c := range clouds.All() {
		t.Run(c.Name(), func(t *testing.T) {
			b, inst, role, cfg := startRevocable(t, c)

			kind := inst.ObjectKind()
			before, ok := inst.State()[kind]
			require.True(t, ok, "State counts %q", kind)
			fixtures := inst.ObjectNames()
			require.Len(t, fixtures, before, "ObjectNames lists what State counts")
			for _, n := range fixtures {
				require.True(t, inst.HasObject(n), "fixture %s", n)
			}
			require.False(t, inst.HasObject("no-such-object-0123"))

			core := inst.Core()
			creates, deletes := core.Count(inst.CreateAction()), core.Count(inst.DeleteAction())
			resp := b.OK(logical.ReadOperation, "creds/"+c.Name()+"/"+role.Name, nil)
			objField, secretField := inst.CredFields()
			obj, _ := resp.Data[objField].(string)
			secret, _ := resp.Data[secretField].(string)
			require.NotEmpty(t, obj, "creds answer %s", objField)
			require.NotEmpty(t, secret, "creds answer %s", secretField)
			require.NoError(t, c.Use(cfg, resp.Data), "the issued credential works")
			require.Equal(t, creates+1, core.Count(inst.CreateAction()), "one %s per issue", inst.CreateAction())
			require.Equal(t, before+1, inst.State()[kind], "one %s per credential", kind)
			require.True(t, inst.HasObject(obj))
			require.Contains(t, inst.ObjectNames(), obj)

			_, err := b.Revoke(resp.Secret)
			require.NoError(t, err)
			require.Equal(t, deletes+1, core.Count(inst.DeleteAction()), "one %s per revoke", inst.DeleteAction())
			require.False(t, inst.HasObject(obj))
			require.ElementsMatch(t, fixtures, inst.ObjectNames())
		})
	}
}
