package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
)

// TestLifecycleAllProviders: issue → use → renew → revoke, for each cloud,
// inside the real Vault (Done means 1).
func TestLifecycleAllProviders(t *testing.T) {
	s := newStack(t, false)

	t.Run("aws", func(t *testing.T) {
		before := s.aws.State()
		sec := s.issue(t, "aws", "ci")
		arn := s.awsKeyWorks(t, str(sec.Data["access_key"]), str(sec.Data["secret_key"]), "")
		require.Contains(t, arn, ":user/")
		require.Equal(t, count(before, "users")+1, count(s.aws.State(), "users"))
		r := s.renew(t, sec.LeaseID, 20*time.Minute)
		require.Equal(t, 20*60, r.LeaseDuration)
		s.revoke(t, sec.LeaseID)
		require.Equal(t, before, s.aws.State(), "the user and everything attached to it are gone")
	})

	t.Run("ncloud", func(t *testing.T) {
		sec := s.issue(t, "ncloud", "ci")
		s.ncloudKeyWorks(t, str(sec.Data["access_key"]), str(sec.Data["secret_key"]))
		require.InDelta(t, 15*60, sec.LeaseDuration, 2)
		r := s.renew(t, sec.LeaseID, 10*time.Minute)
		require.InDelta(t, 10*60, r.LeaseDuration, 2)
		s.revoke(t, sec.LeaseID) // STS keys cannot be revoked early: a no-op that succeeds
	})

	t.Run("ncloud sub_account", func(t *testing.T) {
		s.write(t, "roles/ncloud/sub", map[string]any{"credential_type": "sub_account", "policies": "NCP_INFRA_MANAGER", "ttl": "10m"})
		before := s.ncloud.State()
		sec := s.issue(t, "ncloud", "sub")
		s.ncloudKeyWorks(t, str(sec.Data["access_key"]), str(sec.Data["secret_key"]))
		require.Equal(t, count(before, "sub_accounts")+1, count(s.ncloud.State(), "sub_accounts"))
		s.renew(t, sec.LeaseID, 5*time.Minute)
		s.revoke(t, sec.LeaseID)
		after := s.ncloud.State()
		require.Equal(t, count(before, "sub_accounts"), count(after, "sub_accounts"))
		require.Equal(t, count(before, "access_keys"), count(after, "access_keys"))
	})

	t.Run("nomad", func(t *testing.T) {
		before := s.nomad.State()
		sec := s.issue(t, "nomad", "ci")
		self, _, err := s.nomadAPI(t, str(sec.Data["secret_id"])).ACLTokens().Self(nil)
		require.NoError(t, err, "the issued token authenticates")
		require.Equal(t, str(sec.Data["accessor_id"]), self.AccessorID)
		require.Equal(t, []string{"readonly"}, self.Policies)
		s.renew(t, sec.LeaseID, 15*time.Minute)
		s.revoke(t, sec.LeaseID)
		require.Equal(t, before, s.nomad.State())
	})
}

// TestRevokePrefix: `vault lease revoke -prefix` on one role and on one
// provider, asynchronously (the CLI default) and with -sync (Done means 2).
func TestRevokePrefix(t *testing.T) {
	s := newStack(t, false)
	s.write(t, "roles/aws/other", map[string]any{"credential_type": "iam_user", "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
	baseUsers := count(s.aws.State(), "users")
	baseTokens := count(s.nomad.State(), "tokens")

	issueN := func(provider, role string, n int) {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.client.Logical().Read(mount + "/creds/" + provider + "/" + role); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
	issueN("aws", "ci", 50)
	issueN("aws", "other", 5)
	issueN("nomad", "ci", 5)
	require.Equal(t, baseUsers+55, count(s.aws.State(), "users"))

	for _, mode := range []string{"async", "sync"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "sync" {
				issueN("aws", "ci", 50)
			}
			args := []string{"lease", "revoke", "-prefix"}
			if mode == "sync" {
				args = append(args, "-sync")
			}
			res := s.vault.CLI(t, append(args, mount+"/creds/aws/ci")...)
			require.Equal(t, 0, res.ExitCode, res.Stderr)
			eventually(t, "the role's 50 users to be gone", 2*time.Minute, func() bool {
				return count(s.aws.State(), "users") == baseUsers+5
			})
			require.Equal(t, baseTokens+5, count(s.nomad.State(), "tokens"), "no other provider's lease is touched")
		})
	}

	t.Run("whole provider", func(t *testing.T) {
		res := s.vault.CLI(t, "lease", "revoke", "-prefix", "-sync", mount+"/creds/aws")
		require.Equal(t, 0, res.ExitCode, res.Stderr)
		require.Equal(t, baseUsers, count(s.aws.State(), "users"), "every AWS lease is revoked")
		require.Equal(t, baseTokens+5, count(s.nomad.State(), "tokens"), "no Nomad lease is revoked")
		res = s.vault.CLI(t, "lease", "revoke", "-prefix", "-sync", mount+"/creds/nomad")
		require.Equal(t, 0, res.ExitCode, res.Stderr)
		require.Equal(t, baseTokens, count(s.nomad.State(), "tokens"))
	})
}

// TestHardExpiries: inside real Vault, renewing with -increment never passes
// a cloud's hard expiry; an assumed role's lease is not renewable (Done
// means 3).
func TestHardExpiries(t *testing.T) {
	s := newStack(t, false)

	t.Run("ncloud sts", func(t *testing.T) {
		sec := s.issue(t, "ncloud", "ci")
		res := s.vault.CLI(t, "lease", "renew", "-increment=2h", sec.LeaseID)
		require.Equal(t, 0, res.ExitCode, res.Stderr)
		require.LessOrEqual(t, s.ttl(t, sec.LeaseID), 15*time.Minute, "the lease ends with the key's expireTime")
	})

	t.Run("nomad expiration_ttl", func(t *testing.T) {
		s.write(t, "roles/nomad/short", map[string]any{"policies": "readonly", "expiration_ttl": "10m", "max_ttl": "1h", "ttl": "30m"})
		sec := s.issue(t, "nomad", "short")
		require.LessOrEqual(t, sec.LeaseDuration, 600)
		res := s.vault.CLI(t, "lease", "renew", "-increment=1h", sec.LeaseID)
		require.Equal(t, 0, res.ExitCode, res.Stderr)
		require.LessOrEqual(t, s.ttl(t, sec.LeaseID), 10*time.Minute)
		s.revoke(t, sec.LeaseID)
	})

	t.Run("aws assumed_role", func(t *testing.T) {
		roleARN := createAssumableRole(t, s)
		s.write(t, "roles/aws/assume", map[string]any{"credential_type": "assumed_role", "role_arns": roleARN, "ttl": "15m"})
		sec := s.issue(t, "aws", "assume")
		require.False(t, sec.Renewable)
		arn := s.awsKeyWorks(t, str(sec.Data["access_key"]), str(sec.Data["secret_key"]), str(sec.Data["session_token"]))
		require.Contains(t, arn, ":assumed-role/")
		_, err := s.client.Sys().Renew(sec.LeaseID, 600)
		require.Error(t, err)
		require.Contains(t, strings.ToLower(err.Error()), "not renewable")
	})
}

// TestRoleDeletedAndPluginReload: leases of a deleted role still revoke, and
// revoke works across `vault plugin reload` (Done means 4 and 5).
func TestRoleDeletedAndPluginReload(t *testing.T) {
	s := newStack(t, false)
	before := s.aws.State()
	gone := s.issue(t, "aws", "ci")
	reloaded := s.issue(t, "nomad", "ci")
	_, err := s.client.Logical().Delete(mount + "/roles/aws/ci")
	require.NoError(t, err)
	s.revoke(t, gone.LeaseID)
	require.Equal(t, before, s.aws.State())

	res := s.vault.CLI(t, "plugin", "reload", "-plugin", s.plugin.Name)
	require.Equal(t, 0, res.ExitCode, res.Stderr)
	nomadBefore := count(s.nomad.State(), "tokens")
	s.revoke(t, reloaded.LeaseID)
	require.Equal(t, nomadBefore-1, count(s.nomad.State(), "tokens"))
}

// TestRestartWithLiveLeases: Vault restarted on file storage; live leases
// renew and revoke; an expired lease is revoked by Vault itself (Done
// means 6).
func TestRestartWithLiveLeases(t *testing.T) {
	s := newStack(t, true)
	s.write(t, "roles/aws/brief", map[string]any{"credential_type": "iam_user", "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess", "ttl": "20s", "max_ttl": "20s"})
	base := count(s.aws.State(), "users")
	live := s.issue(t, "aws", "ci")
	brief := s.issue(t, "aws", "brief")
	tok := s.issue(t, "nomad", "ci")
	require.Equal(t, base+2, count(s.aws.State(), "users"))

	s.vault.Restart(t)
	s.client = s.vault.Client(t)

	s.renew(t, live.LeaseID, 5*time.Minute)
	s.renew(t, tok.LeaseID, 5*time.Minute)
	s.revoke(t, live.LeaseID)
	s.revoke(t, tok.LeaseID)
	eventually(t, "Vault to revoke the expired lease itself", 90*time.Second, func() bool {
		return count(s.aws.State(), "users") == base
	})
	_, err := s.client.Sys().Lookup(brief.LeaseID)
	require.Error(t, err, "the expired lease is gone from Vault too")
}

// TestPluginUpgrade: a second version is registered and the mount tuned
// and reloaded; leases issued by the old version revoke under the new one
// (Done means 7).
func TestPluginUpgrade(t *testing.T) {
	s := newStack(t, false)
	base := count(s.aws.State(), "users")
	old := s.issue(t, "aws", "ci")

	next := buildVersion(t, s, "v0.2.0")
	s.vault.TunePluginVersion(t, mount, next.Version)
	s.vault.ReloadMounts(t, mount)
	_, running := s.vault.MountVersions(t, mount)
	require.Equal(t, next.Version, running)

	s.revoke(t, old.LeaseID)
	require.Equal(t, base, count(s.aws.State(), "users"))
	fresh := s.issue(t, "aws", "ci")
	s.revoke(t, fresh.LeaseID)
}

func buildVersion(t *testing.T, s *stack, version string) *vaulttest.Plugin {
	t.Helper()
	p := vaulttest.BuildPlugin(t, version)
	s.vault.InstallPlugin(t, p)
	s.vault.RegisterPlugin(t, p)
	return p
}
