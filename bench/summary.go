package main

import (
	"fmt"
	"math"
	"sort"
)

// targetCheck is one of the issue's targets, measured.
type targetCheck struct {
	Measure string  `json:"measure"`
	Value   float64 `json:"value"`
	// Max is the target: Value must not exceed it.
	Max  float64 `json:"max"`
	OK   bool    `json:"ok"`
	Note string  `json:"note,omitempty"`
}

// summarizeResults fills res.Ratios, res.Floors and res.Targets: each measure is
// the median over the runs of the per-run value (a ratio ours / builtin is
// taken within one run).
func summarizeResults(res *results) {
	res.Ratios, res.Floors = map[string]float64{}, map[string]float64{}
	ratio := func(rows []phaseResult, mode string, f func(phaseResult) float64) float64 {
		var vs []float64
		for _, r := range runsOf(rows, mode, 0) {
			bi, ours := find(rows, mode, 0, "builtin", r), find(rows, mode, 0, "multicloud", r)
			if bi != nil && ours != nil && f(*bi) > 0 {
				vs = append(vs, f(*ours)/f(*bi))
			}
		}
		return median(vs)
	}
	issueP50 := func(p phaseResult) float64 { return p.Issue.P50MS }
	revokeP50 := func(p phaseResult) float64 { return p.Revoke.P50MS }
	issueWall := func(p phaseResult) float64 { return p.Issue.WallMS }
	revokeWall := func(p phaseResult) float64 { return p.Revoke.WallMS }
	res.Ratios["aws_issue_p50"] = ratio(res.AWS, modeSequential, issueP50)
	res.Ratios["aws_revoke_p50"] = ratio(res.AWS, modeSequential, revokeP50)
	res.Ratios["aws_burst_issue"] = ratio(res.AWS, modeConcurrent, issueWall)
	res.Ratios["aws_burst_revoke"] = ratio(res.AWS, modeConcurrent, revokeWall)
	res.Ratios["nomad_issue_p50"] = ratio(res.Nomad, modeSequential, issueP50)
	res.Ratios["nomad_burst_issue"] = ratio(res.Nomad, modeConcurrent, issueWall)

	var callsIssue, callsRevoke []float64
	errs := 0
	for _, rate := range res.Settings.RateLimits {
		var is, rv, ci, cr []float64
		for _, r := range runsOf(res.AWS, modeRateLimited, rate) {
			p := find(res.AWS, modeRateLimited, rate, "multicloud", r)
			if p == nil || p.FloorMS <= 0 {
				continue
			}
			is = append(is, p.Issue.WallMS/p.FloorMS)
			rv = append(rv, p.Revoke.WallMS/p.FloorMS)
			ci = append(ci, p.CallsPerIssue)
			cr = append(cr, p.CallsPerRevoke)
			errs += p.Issue.Errors + p.Revoke.Errors
		}
		res.Floors[fmt.Sprintf("aws_rl%g_issue", rate)] = median(is)
		res.Floors[fmt.Sprintf("aws_rl%g_revoke", rate)] = median(rv)
		callsIssue = append(callsIssue, median(ci))
		callsRevoke = append(callsRevoke, median(cr))
	}
	if len(callsIssue) > 0 {
		res.Floors["aws_calls_per_issue_rl"] = maxOf(callsIssue)
		res.Floors["aws_calls_per_revoke_rl"] = maxOf(callsRevoke)
	}
	if bk := res.Bulk; bk != nil {
		res.Floors["aws_revoke_prefix_floor_s"] = round2(bk.FloorS)
		res.Floors["aws_revoke_prefix_ours_s"] = bk.Ours.EmptyS
		res.Floors["aws_revoke_prefix"] = round2(bk.Ours.EmptyS / bk.FloorS)
		if bk.Builtin.EmptyS > 0 {
			res.Ratios["aws_revoke_prefix"] = round2(bk.Ours.EmptyS / bk.Builtin.EmptyS)
		}
	}
	for _, m := range []map[string]float64{res.Ratios, res.Floors} {
		for k, v := range m {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				delete(m, k) // not measured in this run (JSON has no NaN)
				continue
			}
			m[k] = round2(v)
		}
	}
	res.Targets = targets(res, errs)
}

// targets checks the issue's targets.
func targets(res *results, rlErrors int) []targetCheck {
	var out []targetCheck
	add := func(measure string, v, limit float64, note string) {
		if math.IsNaN(v) {
			return // not measured in this run
		}
		out = append(out, targetCheck{Measure: measure, Value: v, Max: limit, OK: v <= limit, Note: note})
	}
	get := func(m map[string]float64, k string) float64 {
		if v, ok := m[k]; ok {
			return v
		}
		return math.NaN()
	}
	add("50 concurrent AWS issues, no limit: batch time, ours / builtin", get(res.Ratios, "aws_burst_issue"), 1.0, "")
	add("50 concurrent AWS revokes, no limit: batch time, ours / builtin", get(res.Ratios, "aws_burst_revoke"), 0.8, "")
	for _, rate := range res.Settings.RateLimits {
		for _, half := range []string{"issue", "revoke"} {
			add(fmt.Sprintf("50 concurrent AWS %ss under %g req/s: batch time / floor", half, rate),
				get(res.Floors, fmt.Sprintf("aws_rl%g_%s", rate, half)), 1.15, "")
		}
	}
	if len(res.Settings.RateLimits) > 0 {
		add("IAM calls per issue under those limits (8 needed)", get(res.Floors, "aws_calls_per_issue_rl"), 9, "the worse of the limits' medians")
		add("IAM calls per revoke under those limits (8 needed)", get(res.Floors, "aws_calls_per_revoke_rl"), 9, "the worse of the limits' medians")
		add("errors of the rate-limited phases (ours)", float64(rlErrors), 0, "")
	}
	if bk := res.Bulk; bk != nil {
		add(fmt.Sprintf("async revoke -prefix of %d leases under %g req/s: time until empty / floor", bk.Leases, bk.RateLimitRPS), get(res.Floors, "aws_revoke_prefix"), 1.25, "")
		note := ""
		if !bk.Builtin.Reached {
			note = fmt.Sprintf("the builtin engine did not empty its account within the %.0f s cap: this is an upper bound", bk.CapS)
		}
		add(fmt.Sprintf("async revoke -prefix of %d leases: time until empty, ours / builtin", bk.Leases), get(res.Ratios, "aws_revoke_prefix"), 0.3, note)
	}
	add("sequential AWS issue p50, ours / builtin", get(res.Ratios, "aws_issue_p50"), 0.35, "")
	add("sequential AWS revoke p50, ours / builtin", get(res.Ratios, "aws_revoke_p50"), 0.35, "")
	add("Nomad 50 concurrent issues: batch time, ours / builtin", get(res.Ratios, "nomad_burst_issue"), 1.1, "")
	errs, left := 0, 0
	for _, p := range append(append([]phaseResult{}, res.AWS...), res.Nomad...) {
		if p.Engine == "multicloud" {
			errs += p.Issue.Errors + p.Revoke.Errors
			left += p.Left
		}
	}
	irrevocable := 0
	if bk := res.Bulk; bk != nil {
		errs += bk.Ours.IssueErrors
		left += bk.Ours.UsersLeft + bk.Ours.LeasesLeft
		irrevocable += bk.Ours.Irrevocable
		if bk.Keep != nil {
			left += bk.Keep.UsersLeft + bk.Keep.LeasesLeft
			irrevocable += bk.Keep.Irrevocable
		}
	}
	if au := res.Audit; au != nil {
		marked := au.Leases + au.Orphans
		if !au.GAAD.OK || au.GAAD.Scanned != marked || au.GAAD.Held != au.Leases || au.GAAD.Orphans != au.Orphans || au.GAAD.Ghosts != 0 {
			errs++ // a wrong audit is an error of the plugin
		}
		if au.Removed != au.Orphans || au.TidyFailed != 0 {
			errs++
		}
		left += au.LeasesLeft + max(0, au.UsersLeft-au.OtherMount-au.Unmarked)
		irrevocable += au.Irrevocable
		add(fmt.Sprintf("audit of %d users (%d marked, %d live leases) under %g req/s: throttled answers", au.Users, marked, au.Leases, au.RateLimitRPS),
			float64(au.GAAD.Throttled), 0, "with GetAccountAuthorizationDetails")
		add(fmt.Sprintf("audit of %d users under %g req/s: seconds (Vault's request timeout is 90)", au.Users, au.RateLimitRPS),
			au.GAAD.DurationS, 10, "with GetAccountAuthorizationDetails")
		if au.UsersLeft != au.OtherMount+au.Unmarked {
			errs++ // tidy or revoke touched (or missed) users it must not
		}
	}
	add("errors (ours, every phase)", float64(errs), 0, "")
	add("users, tokens and leases left (ours, every phase)", float64(left), 0, "")
	add("irrevocable leases (ours)", float64(irrevocable), 0, "")
	if bk := res.Bulk; bk != nil {
		add(fmt.Sprintf("plugin RSS with %d live leases (MB)", bk.LiveLeases), bk.RSSLiveMB, 100, "")
		add(fmt.Sprintf("plugin RSS during the %d-lease revoke, most (MB)", bk.Leases), bk.RSSRevokeMaxMB, 100, "")
	}
	return out
}

// runsOf returns the runs of the phases of mode (and rate) in rows.
func runsOf(rows []phaseResult, mode string, rate float64) []int {
	seen := map[int]bool{}
	var out []int
	for _, r := range rows {
		if r.Mode == mode && r.RateLimitRPS == rate && !seen[r.Run] {
			seen[r.Run] = true
			out = append(out, r.Run)
		}
	}
	sort.Ints(out)
	return out
}

// find returns the phase of mode, rate, engine and run, nil if none.
func find(rows []phaseResult, mode string, rate float64, engine string, run int) *phaseResult {
	for i := range rows {
		r := &rows[i]
		if r.Mode == mode && r.RateLimitRPS == rate && r.Engine == engine && r.Run == run {
			return r
		}
	}
	return nil
}

// median of vs; NaN if empty.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maxOf(vs []float64) float64 {
	m := math.Inf(-1)
	for _, v := range vs {
		m = math.Max(m, v)
	}
	return m
}

func round2(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	return math.Round(f*100) / 100
}

// printTargets prints the targets table.
func printTargets(res *results) {
	fmt.Println("\n== targets (medians of the runs)")
	for _, t := range res.Targets {
		mark := "ok  "
		if !t.OK {
			mark = "MISS"
		}
		fmt.Printf("%s %-80s %8.2f (target <= %g)\n", mark, t.Measure, t.Value, t.Max)
	}
}
