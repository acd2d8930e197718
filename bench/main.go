// Command bench is `make bench`: it measures, side by side in one real
// Vault dev server (bin/vault) against the same emulated clouds, Vault's
// builtin aws and nomad secrets engines and this plugin, and writes
// bench/results.json and docs/benchmarks.md.
//
// For each cloud and engine it issues N credentials one at a time, then
// revokes them one at a time, and then the same with NConcurrent
// credentials all at once; it times every issue and revoke, counts the
// cloud API calls each batch made (from the emulators' /_emulator/calls)
// and the objects left in the cloud. Two failure cases follow: a Nomad
// token deleted behind Vault's back, and IAM List* answers truncated to
// pages of 2.
//
// Everything listens on 127.0.0.1 only; Vault runs in its own process
// group, which is killed on exit, interrupt or timeout. Secrets are never
// printed or written: credentials are masked and only counts and
// durations are recorded.
//
//	go run ./bench -bin bin -version v0.1.0
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// options are the command-line flags.
type options struct {
	bin, version   string
	n, nConcurrent int
	latencyMS      int
	awsPageSize    int
	rateLimitRPS   float64
	out, report    string
	timeout        time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin", "directory with vault and the plugin binary")
	flag.StringVar(&o.version, "version", "v0.1.0", "version the plugin binary was built with")
	flag.IntVar(&o.n, "n", 20, "credentials per sequential phase")
	flag.IntVar(&o.nConcurrent, "concurrent", 50, "credentials per concurrent phase")
	flag.IntVar(&o.latencyMS, "latency-ms", 50, "latency the emulators add to every cloud API call")
	flag.IntVar(&o.awsPageSize, "aws-page-size", 100, "most items per List* page of the main AWS account (IAM's default MaxItems is 100)")
	flag.Float64Var(&o.rateLimitRPS, "rate-limit-rps", 50, "account-wide IAM request rate of the rate-limited AWS phase (0: skip it)")
	flag.StringVar(&o.out, "out", "bench/results.json", "machine-readable results")
	flag.StringVar(&o.report, "report", "docs/benchmarks.md", "human report")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "abort the whole run after this long")
	flag.Parse()
	if o.n < 1 || o.nConcurrent < 1 || o.latencyMS < 0 || o.awsPageSize < 1 || o.awsPageSize > 1000 || o.rateLimitRPS < 0 {
		fmt.Fprintln(os.Stderr, "bench: -n and -concurrent must be >= 1, -latency-ms >= 0, -aws-page-size in 1..1000, -rate-limit-rps >= 0")
		os.Exit(2)
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
	if err := writeJSON(o.out, res); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if err := writeFile(o.report, []byte(renderReport(res))); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Printf("\nwrote %s and %s in %.0fs\n", o.out, o.report, res.DurationS)
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
		Settings: settings{N: o.n, NConcurrent: o.nConcurrent, LatencyMS: o.latencyMS,
			RateLimitRPS: o.rateLimitRPS, AWSPageSize: o.awsPageSize, TruncatedPageSize: 2,
			AWSRole: map[string]any{"credential_type": "iam_user", "policy_arns": benchPolicyARNs,
				"iam_groups": benchGroups, "policy_document": "1 statement"},
			Revoke: "PUT sys/leases/revoke (sync) per lease, one at a time or all at once"},
	}
	fmt.Printf("   %s, %s, %d CPUs\n", res.Environment.VaultVersion, res.Environment.GoVersion, res.Environment.CPUs)

	b := &bench{s: s, clouds: c}
	faults := emulator.Faults{LatencyMS: o.latencyMS}
	for _, a := range []admin{c.main.admin, c.truncated.admin, c.nomad.admin} {
		if err := a.setFaults(ctx, faults); err != nil {
			return nil, err
		}
	}
	for _, e := range []engine{awsBuiltin, awsOurs, awsOursWide, nomadBuiltin, nomadOurs} {
		if err := b.warm(ctx, e); err != nil {
			return nil, err
		}
	}

	seq := mode{name: "sequential", n: o.n, faults: faults}
	conc := mode{name: "concurrent", n: o.nConcurrent, concurrent: true, faults: faults}
	awsConc := conc
	awsConc.extra = []engine{awsOursWide}
	awsModes := []mode{seq, awsConc}
	if o.rateLimitRPS > 0 {
		limited := conc
		limited.name = "concurrent, rate-limited"
		limited.faults.RateLimitRPS = o.rateLimitRPS
		awsModes = append(awsModes, limited)
	}
	for _, cl := range []struct {
		t       target
		engines []engine
		modes   []mode
		dst     *[]phaseResult
	}{
		{target{cloud: "aws", kind: "users", admin: c.main.admin}, awsEngines, awsModes, &res.AWS},
		{target{cloud: "nomad", kind: "tokens", admin: c.nomad.admin}, nomadEngines, []mode{seq, conc}, &res.Nomad},
	} {
		for _, m := range cl.modes {
			for _, e := range append(append([]engine{}, cl.engines...), m.extra...) {
				r, err := b.phase(ctx, cl.t, e, m)
				if err != nil {
					return nil, fmt.Errorf("%s %s %s: %s", cl.t.cloud, m.name, e.Name, s.masker.mask(err.Error()))
				}
				printPhase(r)
				*cl.dst = append(*cl.dst, r)
			}
		}
		if err := cl.t.admin.setFaults(ctx, faults); err != nil {
			return nil, err
		}
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
	if ctx.Err() != nil {
		return nil, errors.Join(errors.New("interrupted or timed out"), ctx.Err())
	}
	return res, nil
}

// printPhase prints one line per phase: no secrets, only numbers.
func printPhase(r phaseResult) {
	fmt.Printf("%-5s %-24s %-10s N=%-3d issue p50 %7.1fms p95 %7.1fms | revoke p50 %7.1fms p95 %7.1fms | calls/issue %4.1f calls/revoke %4.1f (list %3.1f) | %s left %d, errors %d/%d\n",
		r.Cloud, r.Mode, r.Engine, r.N, r.Issue.P50MS, r.Issue.P95MS, r.Revoke.P50MS, r.Revoke.P95MS,
		r.CallsPerIssue, r.CallsPerRevoke, r.ListCallsPerRevoke, r.LeftKind, r.Left, r.Issue.Errors, r.Revoke.Errors)
}

// printCase prints a failure case's steps.
func printCase(r caseResult) {
	fmt.Printf("%s / %s:\n", r.Case, r.Engine)
	for _, st := range r.Steps {
		fmt.Printf("   $ %s -> exit %d, %d cloud calls, %s left %d %s\n", st.Command, st.ExitCode, st.CloudCalls, r.Kind, st.Left, st.Output)
	}
}
