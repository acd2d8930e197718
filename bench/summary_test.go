package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is NaN")
	}
}

func TestFloor(t *testing.T) {
	// 50 issues of 8 calls under 50/s with a full bucket of 50: 7 s.
	if got := floor(50, 50); got != 7*time.Second {
		t.Errorf("floor(50, 50) = %v", got)
	}
	if got := floor(50, 20); got != 19*time.Second {
		t.Errorf("floor(50, 20) = %v", got)
	}
}

// summarizeResults takes per-run ratios and their median, and checks the
// targets; measures without data are left out (JSON has no NaN).
func TestSummarizeResults(t *testing.T) {
	phase := func(mode, engine string, run int, rate, issueWall, revokeWall float64) phaseResult {
		p := phaseResult{Mode: mode, Engine: engine, Run: run, RateLimitRPS: rate}
		p.Issue.WallMS, p.Revoke.WallMS = issueWall, revokeWall
		p.Issue.P50MS, p.Revoke.P50MS = issueWall/10, revokeWall/10
		if rate > 0 {
			p.FloorMS = 7000
			p.CallsPerIssue, p.CallsPerRevoke = 8+float64(run)/10, 8
		}
		return p
	}
	res := &results{Settings: settings{RateLimits: []float64{50}}}
	for run, ours := range []float64{300, 600, 400} {
		res.AWS = append(res.AWS, phase(modeConcurrent, "builtin", run+1, 0, 500, 700), phase(modeConcurrent, "multicloud", run+1, 0, ours, 350))
	}
	for run := 1; run <= 3; run++ {
		res.AWS = append(res.AWS, phase(modeRateLimited, "multicloud", run, 50, 7000+float64(run)*100, 7700))
	}
	summarizeResults(res)
	if got := res.Ratios["aws_burst_issue"]; got != 0.8 {
		t.Errorf("aws_burst_issue = %v, want the median of 0.6, 1.2, 0.8", got)
	}
	if got := res.Ratios["aws_burst_revoke"]; got != 0.5 {
		t.Errorf("aws_burst_revoke = %v", got)
	}
	if got := res.Floors["aws_rl50_issue"]; got != 1.03 {
		t.Errorf("aws_rl50_issue = %v, want 7200/7000", got)
	}
	if got := res.Floors["aws_calls_per_issue_rl"]; got != 8.2 {
		t.Errorf("aws_calls_per_issue_rl = %v", got)
	}
	if _, ok := res.Ratios["nomad_burst_issue"]; ok {
		t.Error("a measure without data must be left out")
	}
	var met, missed int
	for _, tc := range res.Targets {
		if tc.OK {
			met++
		} else {
			missed++
		}
		if strings.Contains(tc.Measure, "Nomad") {
			t.Errorf("target without data listed: %s", tc.Measure)
		}
	}
	if met == 0 || missed != 0 {
		t.Errorf("targets: %d met, %d missed: %+v", met, missed, res.Targets)
	}
}

func TestParseFlagsQuick(t *testing.T) {
	o, err := parseFlags([]string{"-quick", "-n", "7"})
	if err != nil {
		t.Fatal(err)
	}
	if o.n != 7 || o.runs != 1 || len(o.rateLimits) != 1 || o.prefixLeases != 100 || !strings.Contains(o.out, "bench-quick") {
		t.Errorf("quick defaults not applied or an explicit flag overridden: %+v", o)
	}
	o, err = parseFlags(nil)
	if err != nil || o.runs != 3 || len(o.rateLimits) != 2 || o.out != "bench/results.json" {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	if _, err := parseFlags([]string{"-rate-limits", "50,x"}); err == nil {
		t.Error("a bad rate must be refused")
	}
}

func TestRenderPlot(t *testing.T) {
	bk := &bulkResult{Leases: 10, RateLimitRPS: 50, FloorS: 1.6,
		Ours:    bulkSide{Reached: true, EmptyS: 1, Series: []bulkPoint{{0, 10}, {1, 0}}},
		Builtin: bulkSide{EmptyS: 2, UsersLeft: 3, Series: []bulkPoint{{0, 10}, {1, 6}, {2, 3}}}}
	svg := renderPlot(bk)
	if strings.Count(svg, "<polyline") != 2 || !strings.Contains(svg, "floor 2 s") || !strings.Contains(svg, "3 left at 2 s") {
		t.Errorf("plot lacks a series, the floor or the legend:\n%s", svg)
	}
	if !strings.Contains(renderPlot(nil), "No bulk case") {
		t.Error("an empty plot must say so")
	}
	for _, c := range []struct{ span, want float64 }{{80, 10}, {480, 100}, {400, 50}, {16, 2}} {
		if got := niceStep(c.span, 8); got != c.want {
			t.Errorf("niceStep(%v) = %v, want %v", c.span, got, c.want)
		}
	}
}

func TestThin(t *testing.T) {
	ps := []bulkPoint{{0, 5}, {1, 3}, {2, 0}, {3, 0}, {4, 0}, {5, 0}, {6, 0}}
	got := thin(ps, 4)
	want := []float64{0, 4, 6}
	if len(got) != len(want) {
		t.Fatalf("thin = %v", got)
	}
	for i, p := range got {
		if p.TS != want[i] {
			t.Fatalf("thin = %v, want the points at %v", got, want)
		}
	}
}

// The missed targets are explained from the run's own numbers, and a run
// that meets them says nothing.
func TestMissedSection(t *testing.T) {
	bulk := &bulkResult{Leases: 500, RateLimitRPS: 50, CallsNeeded: 4000, FloorS: 80,
		Ours: bulkSide{EmptyS: 81.6}, Builtin: bulkSide{EmptyS: 222.7}}
	nomad := []phaseResult{
		{Mode: modeSequential, Engine: "builtin", Run: 1}, {Mode: modeSequential, Engine: "multicloud", Run: 1},
	}
	nomad[0].Issue.P50MS, nomad[1].Issue.P50MS = 52.5, 56.7
	for _, c := range []struct {
		name    string
		targets []targetCheck
		want    []string
	}{
		{"all met", []targetCheck{{Measure: "Nomad 50 concurrent issues: batch time, ours / builtin", Value: 1, Max: 1.1, OK: true}}, nil},
		{"bulk ratio", []targetCheck{{Measure: "async revoke -prefix of 500 leases: time until empty, ours / builtin", Value: 0.37, Max: 0.3}},
			[]string{"81.6 s, 1.02 × the 80 s", "222.7 s here", "take 267 s or more"}},
		{"nomad burst", []targetCheck{{Measure: "Nomad 50 concurrent issues: batch time, ours / builtin", Value: 1.38, Max: 1.1}},
			[]string{"(1.38)", "costs 4.2 ms per issue (p50 56.7 ms vs 52.5 ms)", "on 2 CPUs", "0.80 ms of CPU per issue for the builtin engine, 1.80 ms for this plugin, 1.10 ms of them in Vault and 0.70 ms in the plugin process"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			cpu := &cpuResult{Sides: []cpuSide{{Engine: "builtin", Issued: 500, VaultMS: 0.8}, {Engine: "multicloud", Issued: 500, VaultMS: 1.1, PluginMS: 0.7}}}
			missedSection(&b, &results{Targets: c.targets, Bulk: bulk, Nomad: nomad, CPU: cpu, Environment: environment{CPUs: 2}})
			if c.want == nil && b.Len() != 0 {
				t.Fatalf("wrote %q for met targets", b.String())
			}
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("missing %q in:\n%s", w, b.String())
				}
			}
		})
	}
}

// -report-from writes the same report as the run that wrote results.json.
func TestRerenderFromResults(t *testing.T) {
	dir := t.TempDir()
	res := &results{Environment: environment{CPUs: 2, GoVersion: "go1.26.8"}, Settings: settings{Runs: 3},
		Targets: []targetCheck{{Measure: "errors (ours, every phase)", Value: 0, Max: 0, OK: true}},
		Audit:   &auditResult{Users: 6001, Leases: 1000, Orphans: 4000, RateLimitRPS: 50, GAAD: auditRun{OK: true, DurationS: 1.2, Requests: 7}}}
	in, report := filepath.Join(dir, "results.json"), filepath.Join(dir, "benchmarks.md")
	if err := writeJSON(in, res); err != nil {
		t.Fatal(err)
	}
	o := options{reportFrom: in, report: report, plot: filepath.Join(dir, "plot.svg")}
	if err := rerender(o); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if want := renderReport(res, "plot.svg"); string(got) != want {
		t.Fatalf("the report written from results.json differs from the run's:\n%s", got)
	}
	if !strings.Contains(string(got), "| `GetAccountAuthorizationDetails` | 1.2 s | 7 |") {
		t.Fatalf("no audit row in:\n%s", got)
	}
}
