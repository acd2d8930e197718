package reliability

import (
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
)

func TestMain(m *testing.M) { vaulttest.Main(m) }

const (
	// envMode selects the full run: RELIABILITY=full.
	envMode = "RELIABILITY"
	// envResults names a file the full run appends its figures to, one
	// JSON object a line.
	envResults = "RELIABILITY_RESULTS"
)

// full reports whether this is the full run (make test-reliability)
// rather than the short one of make test.
func full() bool { return os.Getenv(envMode) == "full" }

// size picks the short or the full value.
func size(short, long int) int {
	if full() {
		return long
	}
	return short
}

var resultsMu sync.Mutex

// newFigures returns the map a test fills with its figures; they are
// recorded when the test ends, passed or failed, with "passed" set.
func newFigures(t *testing.T) map[string]any {
	t.Helper()
	figures := map[string]any{}
	t.Cleanup(func() {
		figures["passed"] = !t.Failed()
		record(t, figures)
	})
	return figures
}

// record logs one test's figures and, when RELIABILITY_RESULTS is set,
// appends them to that file as one JSON line.
func record(t *testing.T, figures map[string]any) {
	t.Helper()
	figures["test"] = t.Name()
	figures["mode"] = map[bool]string{true: "full", false: "short"}[full()]
	figures["at"] = time.Now().UTC().Format(time.RFC3339)
	line, err := json.Marshal(figures)
	if err != nil {
		t.Fatalf("encoding figures: %v", err)
	}
	t.Logf("FIGURES %s", line)
	path := os.Getenv(envResults)
	if path == "" {
		return
	}
	resultsMu.Lock()
	defer resultsMu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}
