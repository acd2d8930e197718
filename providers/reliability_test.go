package providers_test

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// cloud is one emulated cloud with a configured provider and role whose
// credentials create objects that revoke must remove.
type cloud struct {
	name  string
	setup func(t *testing.T, b *plugintest.Backend) (core *emulator.Core, state func() map[string]int)
}

var reliabilityClouds = []cloud{
	{"aws", func(t *testing.T, b *plugintest.Backend) (*emulator.Core, func() map[string]int) {
		ts := awstest.Start(t, awstest.Options{})
		ak, sk := ts.RootCredentials()
		b.OK(logical.UpdateOperation, "config/aws", map[string]any{"access_key": ak, "secret_key": sk, "region": "us-east-1",
			"iam_endpoint": ts.URL, "sts_endpoint": ts.URL, "max_retries": 4, "retry_max_backoff": 1})
		b.OK(logical.UpdateOperation, "roles/aws/r", map[string]any{"credential_type": "iam_user",
			"policy_arns":     []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"},
			"policy_document": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`})
		return ts.Core(), ts.State
	}},
	{"ncloud", func(t *testing.T, b *plugintest.Backend) (*emulator.Core, func() map[string]int) {
		ts := ncloudtest.Start(t, ncloudtest.Options{})
		ak, sk := ts.RootCredentials()
		b.OK(logical.UpdateOperation, "config/ncloud", map[string]any{"access_key": ak, "secret_key": sk,
			"sts_endpoint": ts.URL, "subaccount_endpoint": ts.URL, "max_retries": 4})
		b.OK(logical.UpdateOperation, "roles/ncloud/r", map[string]any{"credential_type": "sub_account", "policies": "NCP_INFRA_MANAGER"})
		return ts.Core(), ts.State
	}},
	{"nomad", func(t *testing.T, b *plugintest.Backend) (*emulator.Core, func() map[string]int) {
		ts := nomadtest.Start(t, nomadtest.Options{})
		c, err := api.NewClient(&api.Config{Address: ts.URL, SecretID: ts.RootToken()})
		require.NoError(t, err)
		_, err = c.ACLPolicies().Upsert(&api.ACLPolicy{Name: "ro", Rules: `namespace "default" { policy = "read" }`}, nil)
		require.NoError(t, err)
		b.OK(logical.UpdateOperation, "config/nomad", map[string]any{"address": ts.URL, "token": ts.RootToken()})
		b.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "ro"})
		return ts.Core(), ts.State
	}},
}

// TestFlakyCloudLeaksNothing: with 5xx answers and dropped connections on
// a fifth of all cloud calls, issuance may fail, but after every issued
// lease is revoked (retried as Vault's expiration manager does) and the
// rollback manager has run, each cloud holds exactly what it held before.
func TestFlakyCloudLeaksNothing(t *testing.T) {
	const cycles = 15
	for _, c := range reliabilityClouds {
		t.Run(c.name, func(t *testing.T) {
			b := plugintest.New(t, providers.MustRegistry(aws.New(), ncloud.New(), nomad.New()))
			core, state := c.setup(t, b)
			before := state()

			core.SetFaults(emulator.Faults{ErrorRate: 0.12, DropRate: 0.08})
			var leases []*logical.Secret
			failed := 0
			for range cycles {
				resp, err := b.Do(logical.ReadOperation, "creds/"+c.name+"/r", nil)
				if err != nil || resp == nil || resp.IsError() {
					t.Logf("issue failed: %v %v", err, resp)
					failed++
					continue
				}
				leases = append(leases, resp.Secret)
			}
			for _, s := range leases {
				revokeWithRetries(t, b, s)
			}
			core.SetFaults(emulator.Faults{})
			for i := 0; b.WALCount() > 0 && i < 3; i++ {
				_ = b.Rollback()
			}
			require.Equal(t, 0, b.WALCount(), "every unfinished create was rolled back")
			require.Equal(t, before, state(), "nothing is left in the cloud")
			t.Logf("%s: %d issued, %d failed under faults; %d cloud calls; 0 objects left", c.name, len(leases), failed, core.Calls().Total)
		})
	}
}

// revokeWithRetries revokes as Vault's expiration manager does: a failed
// revoke is retried (here without the backoff).
func revokeWithRetries(t *testing.T, b *plugintest.Backend, s *logical.Secret) {
	t.Helper()
	var err error
	for range 20 {
		if _, err = b.Revoke(s); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, err, "revoke kept failing")
}
