package aws_test

import (
	"encoding/json"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// TestOldTemplatesShownAndStoredInNewSyntax: a config stored by an older
// version with the former template syntax reads back, and is stored at the
// next write, in Vault's template language.
func TestOldTemplatesShownAndStoredInNewSyntax(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	entry, err := e.Storage.Get(ctx, "config/aws")
	require.NoError(t, err)
	var stored map[string]any
	require.NoError(t, json.Unmarshal(entry.Value, &stored))
	values := stored["values"].(map[string]any)
	values["username_template"] = "vault-{{role:10}}-{{id}}"
	buf, err := json.Marshal(stored)
	require.NoError(t, err)
	require.NoError(t, e.Storage.Put(ctx, &logical.StorageEntry{Key: "config/aws", Value: buf}))
	e.Restart(registryForUpgrade())

	read := e.OK(logical.ReadOperation, "config/aws", nil)
	require.Equal(t, "vault-{{ .RoleName | truncate 10 }}-{{ .ID }}", read.Data["username_template"])

	e.OK(logical.UpdateOperation, "config/aws", map[string]any{"region": "us-west-2"})
	entry, err = e.Storage.Get(ctx, "config/aws")
	require.NoError(t, err)
	require.Contains(t, string(entry.Value), `vault-{{ .RoleName | truncate 10 }}-{{ .ID }}`)
	require.NotContains(t, string(entry.Value), "{{role:10}}")

	e.OK(logical.UpdateOperation, "roles/aws/deploy", map[string]any{"credential_type": "iam_user", "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
	resp := e.issue("deploy", nil)
	require.Regexp(t, `^vault-deploy-[a-z2-7]{13}$`, resp.Data["user_name"])
}

func registryForUpgrade() *providers.Registry { return providers.MustRegistry(aws.New()) }
