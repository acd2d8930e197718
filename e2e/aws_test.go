package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAWSThroughVault: through the real Vault, a username template in
// Vault's template language names the IAM users (a bad one is a 400
// naming the field), and an assumed_role of an IAM role with IAM's
// default MaxSessionDuration (1h) issues under the dev server's default
// lease TTL (768h), capped at the session with a warning.
func TestAWSThroughVault(t *testing.T) {
	s := newStack(t, false)

	t.Run("username template", func(t *testing.T) {
		s.write(t, "config/aws", map[string]any{"username_template": `{{ printf "ci-%s" (.RoleName | truncate 8) }}-{{ .UnixTime }}-{{ .ID }}`})
		sec := s.issue(t, "aws", "ci")
		require.Regexp(t, regexp.MustCompile(`^ci-ci-\d{10}-[a-z2-7]{13}$`), sec.Data["user_name"])
		s.awsKeyWorks(t, str(sec.Data["access_key"]), str(sec.Data["secret_key"]), "")
		s.revoke(t, sec.LeaseID)

		_, err := s.client.Logical().Write(mount+"/config/aws", map[string]any{"username_template": `vault-{{ .RoleName }}-{{ .DisplayName }}-{{ .ID }}`})
		require.Error(t, err)
		require.Contains(t, err.Error(), "Code: 400")
		require.Contains(t, err.Error(), "username_template")
		require.Contains(t, err.Error(), "IAM user names are at most 64")
	})

	t.Run("assumed_role within the role's MaxSessionDuration", func(t *testing.T) {
		roleARN := createAssumableRole(t, s) // IAM's default: 3600 s
		s.write(t, "roles/aws/default-ttl", map[string]any{"credential_type": "assumed_role", "role_arns": roleARN})
		start := time.Now()
		sec := s.issue(t, "aws", "default-ttl")
		require.LessOrEqual(t, sec.LeaseDuration, 3600)
		require.Greater(t, sec.LeaseDuration, 3500)
		exp, err := time.Parse(time.RFC3339, str(sec.Data["expiration"]))
		require.NoError(t, err)
		require.WithinDuration(t, start.Add(time.Hour), exp, 10*time.Second)
		require.Contains(t, strings.Join(sec.Warnings, "\n"), "MaxSessionDuration")
		s.awsKeyWorks(t, str(sec.Data["access_key"]), str(sec.Data["secret_key"]), str(sec.Data["session_token"]))
	})
}
