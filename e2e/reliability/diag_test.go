package reliability

import (
	"os"
	"strings"
	"testing"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
)

// logMatching logs the last n lines of the Vault log that contain any of
// the given strings (case-insensitive), for diagnostics.
func logMatching(t *testing.T, s *vaulttest.Server, n int, subs ...string) {
	t.Helper()
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		t.Logf("reading the Vault log: %v", err)
		return
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		l := strings.ToLower(line)
		for _, sub := range subs {
			if strings.Contains(l, strings.ToLower(sub)) {
				out = append(out, line)
				break
			}
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	t.Logf("Vault log lines with %q:\n%s", subs, strings.Join(out, "\n"))
}

// logUnheld logs the objects of a cloud that no lease known to the test
// names, with the Vault log lines that mention them (names are not
// secrets).
func logUnheld(t *testing.T, s *vaulttest.Server, c *cloud, l *ledger) {
	t.Helper()
	known := map[string]bool{}
	for _, cr := range l.liveOf(c.provider) {
		known[cr.object] = true
	}
	log, _ := os.ReadFile(s.LogPath())
	for _, name := range c.names() {
		if known[name] || c.fixtures[name] {
			continue
		}
		t.Logf("%s: %s is held by no lease the test knows; Vault log lines naming it:", c.provider, name)
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, name) {
				t.Logf("    %s", line)
			}
		}
	}
}
