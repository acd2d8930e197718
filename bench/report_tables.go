package main

import (
	"fmt"
	"strings"
)

// targetsTable writes the targets, measured.
func targetsTable(b *strings.Builder, ts []targetCheck) {
	b.WriteString("| measure | measured | target | |\n|---|--:|--:|---|\n")
	for _, t := range ts {
		mark := "met"
		if !t.OK {
			mark = "**missed**"
		}
		note := ""
		if t.Note != "" {
			note = " (" + t.Note + ")"
		}
		fmt.Fprintf(b, "| %s%s | %s | ≤ %g | %s |\n", t.Measure, note, num(t.Value), t.Max, mark)
	}
}

// bulkSection writes the bulk case's numbers.
func bulkSection(b *strings.Builder, bk *bulkResult) {
	fmt.Fprintf(b, "Each engine held %d IAM users of the bench role on its own emulated account (%d ms per call, %g requests/s, burst %g); `vault lease revoke -prefix <mount>/creds/.../bench` (asynchronous) emptied the plugin's account, then the builtin engine's (each alone, with all of Vault's revocation workers). ",
		bk.Leases, bk.LatencyMS, bk.RateLimitRPS, max(1, bk.RateLimitRPS))
	fmt.Fprintf(b, "The revokes need %d IAM calls, so no engine can empty its account in less than %.0f s. The objects left were read every half second.\n\n", bk.CallsNeeded, bk.FloorS)
	b.WriteString("| engine | account empty after | / floor | IAM calls (needed) | users left | leases left in Vault | irrevocable |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, s := range []bulkSide{bk.Ours, bk.Builtin} {
		empty := fmt.Sprintf("%.1f s", s.EmptyS)
		if !s.Reached {
			empty = fmt.Sprintf("not within %.0f s (capped)", s.EmptyS)
		}
		fmt.Fprintf(b, "| %s | %s | %.2f | %d (%d) | %d | %d | %d |\n", s.Engine, empty, s.EmptyS/bk.FloorS, s.Calls, bk.CallsNeeded, s.UsersLeft, s.LeasesLeft, s.Irrevocable)
	}
	fmt.Fprintf(b, "\nThe plugin process's resident memory (VmRSS): %.1f MB before these leases were issued, %.1f MB with %d live leases", bk.RSSBeforeMB, bk.RSSLiveMB, bk.LiveLeases)
	if bk.KeepLeases > 0 {
		fmt.Fprintf(b, " (the %d above and %d more on a third account)", bk.Leases, bk.KeepLeases)
	}
	fmt.Fprintf(b, ", at most %.1f MB while revoking.", bk.RSSRevokeMaxMB)
	if k := bk.Keep; k != nil {
		fmt.Fprintf(b, " The %d other leases were then revoked without a rate limit: %s, %d users and %d leases left, %d irrevocable.", bk.KeepLeases, emptyText(*k), k.UsersLeft, k.LeasesLeft, k.Irrevocable)
	}
	b.WriteString("\n")
}

// rateLimitedTable writes, per limit and run, the batch times against the
// floor and the calls per operation.
func rateLimitedTable(b *strings.Builder, rows []phaseResult, rates []float64) {
	b.WriteString("| limit | run | engine | floor per batch | issues: batch | / floor | calls / issue | revokes: batch | / floor | calls / revoke | errors (issue / revoke) | users left |\n")
	b.WriteString("|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, rate := range rates {
		for _, run := range runsOf(rows, modeRateLimited, rate) {
			for _, e := range []string{"builtin", "multicloud"} {
				p := find(rows, modeRateLimited, rate, e, run)
				if p == nil {
					continue
				}
				fmt.Fprintf(b, "| %g/s | %d | %s | %s | %s | %.2f | %.1f | %s | %.2f | %.1f | %d / %d | %d |\n",
					rate, run, e, msCell(p.FloorMS), msCell(p.Issue.WallMS), p.Issue.WallMS/p.FloorMS, p.CallsPerIssue,
					msCell(p.Revoke.WallMS), p.Revoke.WallMS/p.FloorMS, p.CallsPerRevoke, p.Issue.Errors, p.Revoke.Errors, p.Left)
			}
		}
	}
}

// phaseTable writes one markdown table row per phase.
func phaseTable(b *strings.Builder, rows []phaseResult, api, kind string) {
	fmt.Fprintf(b, "| mode | run | engine | N | issue p50 | issue p95 | issue batch | revoke p50 | revoke p95 | revoke batch | %s calls / issue | %s calls / revoke | List calls / revoke | peak in flight (issue / revoke) | errors (issue / revoke) | %s left |\n", api, api, kind)
	b.WriteString("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		mode := r.Mode
		if r.RateLimitRPS > 0 {
			mode = fmt.Sprintf("%s %g/s", r.Mode, r.RateLimitRPS)
		}
		fmt.Fprintf(b, "| %s | %d | %s | %d | %s | %s | %s | %s | %s | %s | %.1f | %.1f | %.1f | %d / %d | %d / %d | **%d** |\n",
			mode, r.Run, r.Engine, r.N, msCell(r.Issue.P50MS), msCell(r.Issue.P95MS), msCell(r.Issue.WallMS),
			msCell(r.Revoke.P50MS), msCell(r.Revoke.P95MS), msCell(r.Revoke.WallMS),
			r.CallsPerIssue, r.CallsPerRevoke, r.ListCallsPerRevoke,
			r.IssueCalls.PeakInFlight, r.RevokeCalls.PeakInFlight, r.Issue.Errors, r.Revoke.Errors, r.Left)
	}
	var errs []string
	for _, r := range rows {
		for _, e := range r.Errors {
			errs = append(errs, fmt.Sprintf("%s run %d / %s: `%s`", r.Mode, r.Run, r.Engine, e))
		}
	}
	if len(errs) > 0 {
		b.WriteString("\nErrors seen (first distinct ones per phase):\n\n")
		for _, e := range errs {
			fmt.Fprintf(b, "- %s\n", e)
		}
	}
}

// caseSection writes one failure case: its explanation and each engine's
// steps.
func caseSection(b *strings.Builder, cases []caseResult, name, title, text string) {
	fmt.Fprintf(b, "### %s\n\n%s\n\n", title, text)
	b.WriteString("| engine | step | exit code | cloud calls | objects left | Vault's error |\n|---|---|--:|--:|--:|---|\n")
	for _, c := range cases {
		if c.Case != name {
			continue
		}
		for _, s := range c.Steps {
			out := strings.ReplaceAll(s.Output, "|", `\|`)
			fmt.Fprintf(b, "| %s | `%s` | %d | %d | %d %s | %s |\n", c.Engine, s.Command, s.ExitCode, s.CloudCalls, s.Left, c.Kind, out)
		}
	}
	b.WriteString("\n")
}

// msCell formats milliseconds for a table cell.
func msCell(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f s", v/1000)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// num formats a measured value: integers without decimals.
func num(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.2f", v)
}

// ratio says how many times faster (or slower) b is than a.
func ratio(a, b float64) string {
	switch {
	case a <= 0 || b <= 0:
		return "n/a"
	case a >= b:
		return fmt.Sprintf("%.1f× faster", a/b)
	default:
		return fmt.Sprintf("%.1f× slower", b/a)
	}
}

// auditSection writes the audit case's numbers.
func auditSection(b *strings.Builder, au *auditResult) {
	fmt.Fprintf(b, "One emulated AWS account held %d IAM users: %d of live leases issued through the plugin, %d with the mount's mark made behind its back (orphans), %d with another mount's mark and %d unmarked (plus the account's root user). "+
		"`vault read multicloud/audit/aws-audit` read it through Vault under an account-wide limit of %g requests/s (burst %g) and %d ms per call, pages of %d users. "+
		"The plugin counts a marked user held when a lease's index entry names it.\n\n",
		au.Users, au.Leases, au.Orphans, au.OtherMount, au.Unmarked, au.RateLimitRPS, max(1, au.RateLimitRPS), au.LatencyMS, au.PageSize)
	b.WriteString("| inventory | answer after | requests | throttled | scanned | held | orphans | ghosts |\n|---|--:|--:|--:|--:|--:|--:|--:|\n")
	row := func(name string, r auditRun) {
		took := fmt.Sprintf("%.1f s", r.DurationS)
		if !r.OK {
			took = fmt.Sprintf("failed after %.1f s: %s", r.DurationS, r.Error)
		}
		fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %d | %d | %d |\n", name, took, r.Requests, r.Throttled, r.Scanned, r.Held, r.Orphans, r.Ghosts)
	}
	row("`GetAccountAuthorizationDetails`", au.GAAD)
	if au.Fallback != nil {
		row("`ListUsers` + `ListUserTags` (the first denied)", *au.Fallback)
	}
	fmt.Fprintf(b, "\nThen, without the limit, `tidy/aws-audit` (`dry_run=false min_age=0s`) removed %d orphans in %.1f s (%d failed), and `vault lease revoke -prefix` the leases: %d users were left beyond those before the case (the other mount's and the unmarked ones must all stay: %d), %d leases, %d irrevocable.\n",
		au.Removed, au.TidyS, au.TidyFailed, au.UsersLeft, au.OtherMount+au.Unmarked, au.LeasesLeft, au.Irrevocable)
	if fb := au.Fallback; fb != nil && (!fb.OK || fb.DurationS > 90) {
		fmt.Fprintf(b, "\nWhere we lose: without `iam:GetAccountAuthorizationDetails` the driver needs one `ListUserTags` per user (%d users here), which at %g requests/s does not finish within Vault's 90 s request timeout; grant it to the plugin's credential ([AWS provider](providers/aws.md)) for accounts of thousands of users.\n", au.Users, au.RateLimitRPS)
	}
}

// missedSection explains, from the run's own numbers, the targets it
// missed whose cause is known.
func missedSection(b *strings.Builder, r *results) {
	var paras []string
	for _, t := range r.Targets {
		if t.OK {
			continue
		}
		switch {
		case strings.HasPrefix(t.Measure, "async revoke -prefix") && strings.HasSuffix(t.Measure, "ours / builtin") && r.Bulk != nil:
			bk := r.Bulk
			paras = append(paras, fmt.Sprintf("**%s (%.2f).** The plugin emptied its account in %.1f s, %.2f × the %.0f s that the account's %g requests/s allow for the %d calls the revokes need: no engine can go below that floor by more than the account bucket's initial burst (%g calls, 1 s). "+
				"The ratio to the builtin engine then only depends on how slowly the builtin engine goes (%.1f s here): the target of %.2f would need it to take %.0f s or more.",
				t.Measure, t.Value, bk.Ours.EmptyS, bk.Ours.EmptyS/bk.FloorS, bk.FloorS, bk.RateLimitRPS, bk.CallsNeeded, bk.RateLimitRPS, bk.Builtin.EmptyS, t.Max, bk.FloorS/t.Max))
		case strings.HasPrefix(t.Measure, "Nomad 50 concurrent issues"):
			seqB, seqO := medianOf(r.Nomad, modeSequential, "builtin"), medianOf(r.Nomad, modeSequential, "multicloud")
			paras = append(paras, fmt.Sprintf("**%s (%.2f).** A Nomad token is one cloud call for both engines. The plugin adds, per issue, three writes to Vault's storage — the WAL entry before the create, the index entry, the WAL entry's removal: what lets a crash mid-issue leave nothing behind and `revoke -prefix`, audit and tidy see every credential — and each is a gRPC round trip from the plugin process to Vault, as are the request and its answer; the builtin engine runs inside Vault and writes none. "+
				"One at a time this costs %.1f ms per issue (p50 %.1f ms vs %.1f ms); 50 at once on %d CPUs shared by Vault, the plugin, the emulators and the load generator, the CPU of those round trips adds up%s. An issue makes four gRPC round trips between Vault and the plugin (the request and three storage writes; the framework's two questions per request, the replication state and whether the mount is local, now come from a one-second cache). Fewer writes would give up what they are for: the WAL entry must be durable before the create, and the index entry must exist before the WAL entry goes. One entry that is the WAL intent before the create and the index entry after it, with a rollback path of its own, would save one round trip of the four. The rest is the price of running outside Vault's process.",
				t.Measure, t.Value, seqO-seqB, seqO, seqB, r.Environment.CPUs, cpuText(r.CPU)))
		}
	}
	if len(paras) == 0 {
		return
	}
	b.WriteString("\nMissed targets, from this run's numbers:\n\n")
	for _, p := range paras {
		b.WriteString("- " + p + "\n")
	}
}

// medianOf is the median issue p50 of engine's phases of mode.
func medianOf(rows []phaseResult, mode, engine string) float64 {
	var vs []float64
	for _, p := range rows {
		if p.Mode == mode && p.Engine == engine {
			vs = append(vs, p.Issue.P50MS)
		}
	}
	return median(vs)
}

// cpuSection writes the CPU case's numbers.
func cpuSection(b *strings.Builder, c *cpuResult, burstRatio float64, runs int) {
	fmt.Fprintf(b, "CPU per issue, %d bursts of %d Nomad issues per engine (the engines taking turns; CPU time of the Vault process and of the plugin process from `/proc/<pid>/stat`, in 10 ms ticks summed over the bursts; the emulators and the load generator run in the benchmark's own process and are not counted):\n\n", c.Bursts, c.Burst)
	b.WriteString("| engine | issued (failed) | CPU in Vault per issue | CPU in the plugin per issue | total | burst, median |\n|---|--:|--:|--:|--:|--:|\n")
	for _, s := range c.Sides {
		fmt.Fprintf(b, "| %s | %d (%d) | %.2f ms | %.2f ms | %.2f ms | %.1f ms |\n", s.Engine, s.Issued, s.Errors, s.VaultMS, s.PluginMS, s.VaultMS+s.PluginMS, s.BurstMS)
	}
	if bi, ours := cpuSides(c); bi != nil && ours != nil && bi.BurstMS > 0 && burstRatio > 0 {
		fmt.Fprintf(b, "\nThese bursts are the concurrent phases' Nomad issues again, %d per engine instead of one per run: their medians give ours / builtin = %.2f, where the target's measure (the median of %d runs of one burst) gives %.2f. One burst of either engine varies by tens of percent from run to run, so read a Nomad ratio near its target of 1.1 against both.\n", c.Bursts, ours.BurstMS/bi.BurstMS, runs, burstRatio)
	}
	b.WriteString("\n")
}

// cpuSides returns the builtin engine's and this plugin's sides of the CPU
// case (nil when missing or when nothing was issued).
func cpuSides(c *cpuResult) (builtin, ours *cpuSide) {
	if c == nil {
		return nil, nil
	}
	for i := range c.Sides {
		switch c.Sides[i].Engine {
		case nomadBuiltin.Name:
			builtin = &c.Sides[i]
		case nomadOurs.Name:
			ours = &c.Sides[i]
		}
	}
	if builtin == nil || ours == nil || builtin.Issued == 0 || ours.Issued == 0 {
		return nil, nil
	}
	return builtin, ours
}

// cpuText is the CPU case's totals per issue, for the missed Nomad target.
func cpuText(c *cpuResult) string {
	bi, ours := cpuSides(c)
	if bi == nil {
		return ""
	}
	return fmt.Sprintf(" (measured: %.2f ms of CPU per issue for the builtin engine, %.2f ms for this plugin, %.2f ms of them in Vault and %.2f ms in the plugin process)",
		bi.VaultMS+bi.PluginMS, ours.VaultMS+ours.PluginMS, ours.VaultMS, ours.PluginMS)
}
