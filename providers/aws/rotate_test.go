package aws_test

import (
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// Done means 8: rotate-root makes a new key that works, stores it, and
// deletes the old one at the emulator.
func TestRotateRoot(t *testing.T) {
	e := newEnv(t, awstest.Options{KeyDelay: time.Second}, nil)
	oldAK, oldSK := e.ts.RootCredentials()

	resp := e.OK(logical.UpdateOperation, "config/aws/rotate-root", nil)
	newAK := resp.Data["access_key"].(string)
	require.NotEqual(t, oldAK, newAK)
	require.NotContains(t, resp.Data, "secret_key")

	root, ok := e.ts.User(awstest.RootUserName)
	require.True(t, ok)
	require.Equal(t, []awstest.AccessKey{{ID: newAK, Status: "Active"}}, root.AccessKeys, "old key deleted")
	_, err := e.whoAmI(oldAK, oldSK, "")
	require.Error(t, err, "the old key no longer works")

	cfg := e.OK(logical.ReadOperation, "config/aws", nil)
	require.Equal(t, newAK, cfg.Data["access_key"])
	require.Equal(t, true, cfg.Data["secret_key_set"])

	// The instance works with the new key.
	e.OK(logical.UpdateOperation, "roles/aws/r", map[string]any{"policy_document": allowS3})
	creds := e.issue("r", nil)
	_, err = e.Revoke(creds.Secret)
	require.NoError(t, err)
	require.Empty(t, e.vaultUsers())
}

// Without a static key there is nothing to rotate: 400 naming access_key.
func TestRotateRootNeedsStaticKey(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVONLY000000000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-only")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	e.OK(logical.DeleteOperation, "config/aws", nil)
	e.OK(logical.UpdateOperation, "config/aws", map[string]any{"iam_endpoint": e.ts.URL, "sts_endpoint": e.ts.URL, "use_ambient_credentials": true})
	e.BadRequest(logical.UpdateOperation, "config/aws/rotate-root", nil, "access_key")
}
