// Command bench is `make bench`: it measures, side by side in one real
// Vault dev server (bin/vault) against the same emulated clouds, Vault's
// builtin aws and nomad secrets engines and this plugin, and writes
// bench/results.json, docs/benchmarks.md and the plot
// docs/benchmarks-revoke-prefix.svg.
//
// Each engine issues N credentials one at a time and revokes them one at a
// time, then NConcurrent at once; each of these phases runs -runs times
// (results are medians of the runs). The AWS phases run again under
// account-wide request-rate limits (the plugin -runs times, the builtin
// engine once). Two failure cases follow (a Nomad token deleted behind
// Vault's back; IAM List answers truncated to pages of 2). Last, the bulk
// case: both engines hold -prefix-leases IAM users on two accounts of the
// same rate limit, and `vault lease revoke -prefix` (asynchronous) empties
// both at once; the objects left are sampled every half second, the
// builtin engine's wait is capped. Every batch's cloud calls come from the
// emulators' /_emulator/calls, the objects left from /_emulator/state,
// the plugin's memory from /proc/<pid>/status.
//
// Everything listens on 127.0.0.1 only; Vault runs in its own process
// group, which is killed on exit, interrupt or timeout. Secrets are never
// printed or written: credentials are masked and only counts and
// durations are recorded.
//
//	go run ./bench -bin bin -version v0.1.0          # make bench
//	go run ./bench -bin bin -version v0.1.0 -quick   # make bench-quick
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// options are the command-line flags.
type options struct {
	bin, version    string
	n, nConcurrent  int
	runs            int
	latencyMS       int
	awsPageSize     int
	rateLimits      []float64
	prefixLeases    int
	keepLeases      int
	prefixRate      float64
	prefixLatencyMS int
	builtinCap      time.Duration
	auditLeases     int
	auditOrphans    int
	auditOthers     int
	auditRate       float64
	cpuBursts       int
	quick           bool
	out, report     string
	plot            string
	reportFrom      string
	timeout         time.Duration
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if o.reportFrom != "" {
		if err := rerender(o); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	m := &masker{}
	s := &stack{bin: o.bin, version: o.version, masker: m}
	start := time.Now()
	res, err := run(ctx, s, o)
	s.stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", m.mask(err.Error()))
		os.Exit(1)
	}
	res.DurationS = time.Since(start).Round(100 * time.Millisecond).Seconds()
	summarizeResults(res)
	printTargets(res)
	if err := writeJSON(o.out, res); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if err := writeFile(o.plot, []byte(renderPlot(res.Bulk))); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if err := writeFile(o.report, []byte(renderReport(res, relPath(o.report, o.plot)))); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Printf("\nwrote %s, %s and %s in %.0fs\n", o.out, o.report, o.plot, res.DurationS)
}

// parseFlags reads the flags; -quick changes the defaults of the others
// (flags given explicitly still win).
func parseFlags(args []string) (options, error) {
	var o options
	var rates string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", "bin", "directory with vault and the plugin binary")
	fs.StringVar(&o.version, "version", "v0.1.0", "version the plugin binary was built with")
	fs.IntVar(&o.n, "n", 10, "credentials per sequential phase")
	fs.IntVar(&o.nConcurrent, "concurrent", 50, "credentials per concurrent phase")
	fs.IntVar(&o.runs, "runs", 3, "runs of each phase (results are medians); the builtin engine's rate-limited phases run once")
	fs.IntVar(&o.latencyMS, "latency-ms", 50, "latency the emulators add to every cloud API call")
	fs.IntVar(&o.awsPageSize, "aws-page-size", 100, "most items per List* page of the main AWS account (IAM's default MaxItems is 100)")
	fs.StringVar(&rates, "rate-limits", "50,20", "account-wide IAM request rates of the rate-limited AWS phases, comma-separated (empty: none)")
	fs.IntVar(&o.prefixLeases, "prefix-leases", 500, "leases per engine in the bulk revoke -prefix case (0: skip it)")
	fs.IntVar(&o.keepLeases, "keep-leases", 500, "more live leases of the plugin during the bulk case, on another account (for its memory)")
	fs.Float64Var(&o.prefixRate, "prefix-rate", 50, "account-wide IAM request rate of the bulk case")
	fs.IntVar(&o.prefixLatencyMS, "prefix-latency-ms", 20, "latency of every cloud call in the bulk case")
	fs.DurationVar(&o.builtinCap, "builtin-cap", 8*time.Minute, "longest wait for the builtin engine to empty its account in the bulk case")
	fs.IntVar(&o.auditLeases, "audit-leases", 1000, "live leases of the audit case (0: skip it)")
	fs.IntVar(&o.auditOrphans, "audit-orphans", 4000, "users with the mount's mark made behind the plugin's back in the audit case")
	fs.IntVar(&o.auditOthers, "audit-others", 500, "users of another mount, and as many unmarked users, in the audit case")
	fs.Float64Var(&o.auditRate, "audit-rate", 50, "account-wide IAM request rate while audit reads")
	fs.IntVar(&o.cpuBursts, "cpu-bursts", 10, "bursts of -concurrent Nomad issues per engine in the CPU case (0: skip it)")
	fs.StringVar(&o.reportFrom, "report-from", "", "write -report from this results.json and exit (no run)")
	fs.BoolVar(&o.quick, "quick", false, "a subset in under 2 minutes (1 run, n=5, 50/s only, 100 bulk leases, builtin cap 45s, audit of 500 marked users without the fallback), written to the temp directory")
	fs.StringVar(&o.out, "out", "bench/results.json", "machine-readable results")
	fs.StringVar(&o.report, "report", "docs/benchmarks.md", "human report")
	fs.StringVar(&o.plot, "plot", "docs/benchmarks-revoke-prefix.svg", "plot of the bulk case")
	fs.DurationVar(&o.timeout, "timeout", 20*time.Minute, "abort the whole run after this long")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		quick := map[string]func(){
			"n": func() { o.n = 5 }, "runs": func() { o.runs = 1 }, "rate-limits": func() { rates = "50" },
			"prefix-leases": func() { o.prefixLeases = 100 }, "keep-leases": func() { o.keepLeases = 0 },
			"builtin-cap":  func() { o.builtinCap = 45 * time.Second },
			"audit-leases": func() { o.auditLeases = 100 }, "cpu-bursts": func() { o.cpuBursts = 4 }, "audit-orphans": func() { o.auditOrphans = 400 }, "audit-others": func() { o.auditOthers = 50 }, "timeout": func() { o.timeout = 4 * time.Minute },
			"out":    func() { o.out = filepath.Join(os.TempDir(), "bench-quick", "results.json") },
			"report": func() { o.report = filepath.Join(os.TempDir(), "bench-quick", "benchmarks.md") },
			"plot":   func() { o.plot = filepath.Join(os.TempDir(), "bench-quick", "benchmarks-revoke-prefix.svg") },
		}
		for name, apply := range quick {
			if !set[name] {
				apply()
			}
		}
	}
	for _, f := range strings.Split(rates, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return o, fmt.Errorf("-rate-limits: %q is not a positive rate", f)
		}
		o.rateLimits = append(o.rateLimits, r)
	}
	switch {
	case o.n < 1 || o.nConcurrent < 1 || o.runs < 1:
		return o, errors.New("-n, -concurrent and -runs must be >= 1")
	case o.latencyMS < 0 || o.prefixLatencyMS < 0:
		return o, errors.New("latencies must be >= 0")
	case o.awsPageSize < 1 || o.awsPageSize > 1000:
		return o, errors.New("-aws-page-size must be in 1..1000")
	case o.cpuBursts < 0:
		return o, errors.New("-cpu-bursts must be >= 0")
	case o.auditLeases < 0 || o.auditOrphans < 0 || o.auditOthers < 0 || o.auditRate <= 0:
		return o, errors.New("-audit-leases, -audit-orphans and -audit-others must be >= 0, -audit-rate > 0")
	case o.prefixLeases < 0 || o.keepLeases < 0 || o.prefixRate <= 0 || o.builtinCap <= 0:
		return o, errors.New("-prefix-leases and -keep-leases must be >= 0, -prefix-rate and -builtin-cap > 0")
	}
	return o, nil
}

// run starts the clouds and Vault, sets both sides up and runs every phase
// and case. The caller stops the stack.
func run(ctx context.Context, s *stack, o options) (*results, error) {
	c, err := startClouds(o.awsPageSize, s.masker)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	fmt.Println("== starting Vault dev server (bin/vault) with the plugin")
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	if err := setup(ctx, s, c); err != nil {
		return nil, err
	}
	res := &results{
		Environment: newEnvironment(ctx, s),
		Settings: settings{N: o.n, NConcurrent: o.nConcurrent, Runs: o.runs, LatencyMS: o.latencyMS,
			RateLimits: o.rateLimits, AWSPageSize: o.awsPageSize, TruncatedPageSize: 2,
			AWSRole: map[string]any{"credential_type": "iam_user", "policy_arns": benchPolicyARNs,
				"iam_groups": benchGroups, "policy_document": "1 statement"},
			CallsPerAWSOp: callsPerAWSOp,
			Revoke:        "PUT sys/leases/revoke (sync) per lease, one at a time or all at once",
			Quick:         o.quick},
	}
	fmt.Printf("   %s, %s, %d CPUs; load average %s\n", res.Environment.VaultVersion, res.Environment.GoVersion, res.Environment.CPUs, res.Environment.LoadAverageStart)

	b := &bench{s: s, clouds: c}
	faults := emulator.Faults{LatencyMS: o.latencyMS}
	for _, a := range c.admins() {
		if err := a.setFaults(ctx, faults); err != nil {
			return nil, err
		}
	}
	for _, e := range []engine{awsBuiltin, awsOurs, nomadBuiltin, nomadOurs} {
		if err := b.warm(ctx, e); err != nil {
			return nil, err
		}
	}

	awsT := target{cloud: "aws", kind: "users", admin: c.main.admin}
	nomadT := target{cloud: "nomad", kind: "tokens", admin: c.nomad.admin}
	seq := mode{name: modeSequential, n: o.n, faults: faults}
	conc := mode{name: modeConcurrent, n: o.nConcurrent, concurrent: true, faults: faults}
	for r := 1; r <= o.runs; r++ {
		fmt.Printf("== run %d of %d\n", r, o.runs)
		for _, p := range []struct {
			t       target
			engines []engine
			m       mode
			dst     *[]phaseResult
		}{
			{awsT, awsEngines, seq, &res.AWS}, {awsT, awsEngines, conc, &res.AWS},
			{nomadT, nomadEngines, seq, &res.Nomad}, {nomadT, nomadEngines, conc, &res.Nomad},
		} {
			for _, e := range p.engines {
				pr, err := b.phase(ctx, p.t, e, p.m, r)
				if err != nil {
					return nil, fmt.Errorf("%s %s %s: %s", p.t.cloud, p.m.name, e.Name, s.masker.mask(err.Error()))
				}
				printPhase(pr)
				*p.dst = append(*p.dst, pr)
			}
		}
	}
	for _, rate := range o.rateLimits {
		limited := conc
		limited.name = modeRateLimited
		limited.faults.RateLimitRPS = rate
		// Between the issues and the revokes the account's bucket refills,
		// so that both batches start from a full bucket (the floor
		// subtracts it).
		limited.refill = time.Duration(max(1, rate) / rate * float64(time.Second))
		for r := 1; r <= o.runs; r++ {
			engines := []engine{awsOurs}
			if r == 1 {
				engines = awsEngines
			}
			for _, e := range engines {
				pr, err := b.phase(ctx, awsT, e, limited, r)
				if err != nil {
					return nil, fmt.Errorf("aws %g/s %s: %s", rate, e.Name, s.masker.mask(err.Error()))
				}
				printPhase(pr)
				res.AWS = append(res.AWS, pr)
			}
		}
	}
	if err := awsT.admin.setFaults(ctx, faults); err != nil {
		return nil, err
	}

	fmt.Println("== failure cases")
	for _, e := range nomadEngines {
		r, err := b.nomadDeletedCase(ctx, e)
		if err != nil {
			return nil, err
		}
		printCase(r)
		res.Cases = append(res.Cases, r)
	}
	for _, e := range truncatedPairs {
		r, err := b.truncatedCase(ctx, e)
		if err != nil {
			return nil, err
		}
		printCase(r)
		res.Cases = append(res.Cases, r)
	}
	if o.cpuBursts > 0 {
		fmt.Printf("== CPU case: %d bursts of %d Nomad issues per engine\n", o.cpuBursts, o.nConcurrent)
		if res.CPU, err = b.cpuCase(ctx, o.cpuBursts, o.nConcurrent); err != nil {
			return nil, fmt.Errorf("cpu case: %s", s.masker.mask(err.Error()))
		}
		for _, side := range res.CPU.Sides {
			fmt.Printf("   %-10s %d issued (%d failed): CPU per issue %.2f ms in Vault, %.2f ms in the plugin process; burst median %.1f ms\n",
				side.Engine+":", side.Issued, side.Errors, side.VaultMS, side.PluginMS, side.BurstMS)
		}
	}
	if o.prefixLeases > 0 {
		fmt.Printf("== bulk case: %d leases per engine, revoke -prefix under %g requests/s (builtin capped at %s)\n", o.prefixLeases, o.prefixRate, o.builtinCap)
		if res.Bulk, err = b.bulkCase(ctx, o); err != nil {
			return nil, fmt.Errorf("bulk case: %s", s.masker.mask(err.Error()))
		}
	}
	if o.auditLeases > 0 {
		fmt.Printf("== audit case: %d live leases and %d orphans under %g requests/s\n", o.auditLeases, o.auditOrphans, o.auditRate)
		if res.Audit, err = b.auditCase(ctx, o); err != nil {
			return nil, fmt.Errorf("audit case: %s", s.masker.mask(err.Error()))
		}
	}
	res.Environment.LoadAverageEnd = loadAverage()
	if ctx.Err() != nil {
		return nil, errors.Join(errors.New("interrupted or timed out"), ctx.Err())
	}
	return res, nil
}

// relPath is target relative to the directory of from (for a link in a
// report), or target itself if there is none.
func relPath(from, target string) string {
	if r, err := filepath.Rel(filepath.Dir(from), target); err == nil {
		return r
	}
	return target
}

// printPhase prints one line per phase: no secrets, only numbers.
func printPhase(r phaseResult) {
	mode := r.Mode
	if r.RateLimitRPS > 0 {
		mode = fmt.Sprintf("%s %g/s", r.Mode, r.RateLimitRPS)
	}
	fmt.Printf("%-5s %-22s run %d %-10s N=%-3d issue p50 %7.1fms batch %8.1fms | revoke p50 %7.1fms batch %8.1fms | calls/issue %4.1f calls/revoke %4.1f (list %3.1f) | %s left %d, errors %d/%d\n",
		r.Cloud, mode, r.Run, r.Engine, r.N, r.Issue.P50MS, r.Issue.WallMS, r.Revoke.P50MS, r.Revoke.WallMS,
		r.CallsPerIssue, r.CallsPerRevoke, r.ListCallsPerRevoke, r.LeftKind, r.Left, r.Issue.Errors, r.Revoke.Errors)
}

// printCase prints a failure case's steps.
func printCase(r caseResult) {
	fmt.Printf("%s / %s:\n", r.Case, r.Engine)
	for _, st := range r.Steps {
		fmt.Printf("   $ %s -> exit %d, %d cloud calls, %s left %d %s\n", st.Command, st.ExitCode, st.CloudCalls, r.Kind, st.Left, st.Output)
	}
}

// rerender writes the report from a run's results.json again (the plot
// needs every sample of the bulk case, which results.json thins, so it is
// left as it is).
func rerender(o options) error {
	b, err := os.ReadFile(o.reportFrom)
	if err != nil {
		return err
	}
	var res results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %w", o.reportFrom, err)
	}
	return writeFile(o.report, []byte(renderReport(&res, relPath(o.report, o.plot))))
}
