package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenAPIAndHelp: the generated API document lists every path with an
// operation id, and `vault path-help` describes them.
func TestOpenAPIAndHelp(t *testing.T) {
	s := newStack(t, false)
	sec, err := s.client.Logical().Read("sys/internal/specs/openapi")
	require.NoError(t, err)
	paths, ok := sec.Data["paths"].(map[string]any)
	require.True(t, ok)
	want := map[string]string{
		"/" + mount + "/providers":                     "multicloud-read-providers",
		"/" + mount + "/config/{provider}":             "multicloud-write-config",
		"/" + mount + "/config/{provider}/rotate-root": "multicloud-rotate-root",
		"/" + mount + "/roles/{provider}/{name}":       "multicloud-write-role",
		"/" + mount + "/creds/{provider}/{name}":       "multicloud-generate-credentials",
	}
	for path, opID := range want {
		item, ok := paths[path].(map[string]any)
		require.True(t, ok, "OpenAPI document lacks %s", path)
		require.Contains(t, flatten(item), opID, "operation ids of %s", path)
	}
	// Request bodies are schemas under components, named after the
	// operation id.
	schemas := sec.Data["components"].(map[string]any)["schemas"].(map[string]any)
	role, ok := schemas["MulticloudWriteRoleRequest"]
	require.True(t, ok, "schema of the role write body")
	for _, field := range []string{"policy_arns", "iam_groups", "expiration_ttl", "credential_type", "ttl", "max_ttl"} {
		require.Contains(t, flatten(role), field, "role fields of every driver are documented")
	}

	res := s.vault.CLI(t, "path-help", mount+"/creds/aws/ci")
	require.Equal(t, 0, res.ExitCode, res.Stderr)
	require.Contains(t, res.Stdout, "Issue a credential of a role")
}

// flatten renders a decoded JSON value as text, for substring checks.
func flatten(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				b.WriteString(k + " ")
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		default:
			b.WriteString(str(x) + " ")
		}
	}
	walk(v)
	return b.String()
}
