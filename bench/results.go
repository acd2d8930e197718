package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// environment is where and with what the numbers were taken.
type environment struct {
	Date          string `json:"date"`
	GoVersion     string `json:"go_version"`
	VaultVersion  string `json:"vault_version"`
	PluginVersion string `json:"plugin_version"`
	OS            string `json:"os"`
	Arch          string `json:"arch"`
	CPUs          int    `json:"cpus"`
	CPUModel      string `json:"cpu_model,omitempty"`
}

// settings are the benchmark's parameters.
type settings struct {
	// N is the number of credentials of each sequential phase, NConcurrent
	// that of each concurrent phase.
	N           int `json:"n_sequential"`
	NConcurrent int `json:"n_concurrent"`
	// LatencyMS is the delay the emulators add to every cloud API call.
	LatencyMS int `json:"latency_ms"`
	// RateLimitRPS is the account-wide IAM request rate (token bucket,
	// burst = rate) of the rate-limited AWS phase; over it the emulator
	// answers Throttling.
	RateLimitRPS float64 `json:"rate_limit_rps"`
	// AWSPageSize is the most items the main AWS account returns per
	// List* page; TruncatedPageSize that of the truncated-page account.
	AWSPageSize       int `json:"aws_page_size"`
	TruncatedPageSize int `json:"truncated_page_size"`
	// AWSRole describes the role both AWS engines issue.
	AWSRole map[string]any `json:"aws_role"`
	// Revoke says how leases are revoked in the phases.
	Revoke string `json:"revoke"`
}

// results is the content of bench/results.json.
type results struct {
	Environment environment   `json:"environment"`
	Settings    settings      `json:"settings"`
	AWS         []phaseResult `json:"aws"`
	Nomad       []phaseResult `json:"nomad"`
	Cases       []caseResult  `json:"cases"`
	// DurationS is how long the whole benchmark took, start-up included.
	DurationS float64 `json:"duration_s"`
}

// newEnvironment collects the environment; the Go version is that of the
// toolchain that built the benchmark (`go run`).
func newEnvironment(ctx context.Context, s *stack) environment {
	return environment{
		Date:          time.Now().UTC().Format(time.RFC3339),
		GoVersion:     runtime.Version(),
		VaultVersion:  s.vaultVersion(ctx),
		PluginVersion: s.version,
		OS:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		CPUs:          runtime.NumCPU(),
		CPUModel:      cpuModel(),
	}
}

// cpuModel returns the CPU's model name on Linux, else "".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// writeJSON writes v, indented, to path (directories created).
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'))
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// shortLease replaces the random id of a lease id by "<lease-id>", so
// reports show the role a lease belongs to and stay stable across runs.
func shortLease(s string) string {
	if !strings.Contains(s, "/creds/") {
		return s
	}
	if i := strings.LastIndex(s, "/"); i > 0 {
		return s[:i] + "/<lease-id>"
	}
	return s
}
