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
	// LoadAverageStart and LoadAverageEnd are /proc/loadavg's 1, 5 and 15
	// minute load averages when the run started and ended: other work on
	// the machine slows the CPU-bound parts of the numbers.
	LoadAverageStart string `json:"load_average_start,omitempty"`
	LoadAverageEnd   string `json:"load_average_end,omitempty"`
}

// settings are the benchmark's parameters.
type settings struct {
	// N is the number of credentials of each sequential phase, NConcurrent
	// that of each concurrent phase.
	N           int `json:"n_sequential"`
	NConcurrent int `json:"n_concurrent"`
	// Runs is how many times each phase ran; summaries are medians.
	Runs int `json:"runs"`
	// LatencyMS is the delay the emulators add to every cloud API call.
	LatencyMS int `json:"latency_ms"`
	// RateLimits are the account-wide IAM request rates (token bucket,
	// burst = max(1, rate), full at the start of each batch) of the
	// rate-limited AWS phases; over them the emulator answers Throttling.
	RateLimits []float64 `json:"rate_limits"`
	// CallsPerAWSOp is the IAM calls one issue or revoke of the role needs.
	CallsPerAWSOp int `json:"calls_per_aws_op"`
	// Quick marks a `make bench-quick` subset.
	Quick bool `json:"quick,omitempty"`
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
	Environment environment `json:"environment"`
	Settings    settings    `json:"settings"`
	// Ratios are the ours / builtin measures and Floors its ours /
	// floor ones (summary.go); Targets checks them against the issue's
	// targets.
	Ratios  map[string]float64 `json:"ratios"`
	Floors  map[string]float64 `json:"floors"`
	Targets []targetCheck      `json:"targets"`
	AWS     []phaseResult      `json:"aws"`
	Nomad   []phaseResult      `json:"nomad"`
	Cases   []caseResult       `json:"cases"`
	Bulk    *bulkResult        `json:"bulk,omitempty"`
	Audit   *auditResult       `json:"audit,omitempty"`
	CPU     *cpuResult         `json:"nomad_cpu,omitempty"`
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

		LoadAverageStart: loadAverage(),
	}
}

// loadAverage returns the 1, 5 and 15 minute load averages on Linux,
// else "".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
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
