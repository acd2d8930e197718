package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// phaseResult is one engine's measurement of one batch: N credentials
// issued, then the N leases revoked, sequentially or concurrently.
type phaseResult struct {
	Cloud  string `json:"cloud"`
	Engine string `json:"engine"`
	// Mode is "sequential" (one at a time), "concurrent" (all N issues
	// at once, then all N revokes at once, each a sync sys/leases/revoke)
	// or "concurrent, rate-limited" (the same under an account-wide
	// request rate limit of RateLimitRPS).
	Mode string `json:"mode"`
	// Run is the phase's run (1..settings.runs).
	Run          int     `json:"run"`
	RateLimitRPS float64 `json:"rate_limit_rps,omitempty"`
	// FloorMS is, under a rate limit, the least time a batch of issues or
	// of revokes can take: (calls needed - the bucket's burst) / rate.
	FloorMS     float64 `json:"floor_ms,omitempty"`
	N           int     `json:"n"`
	Issue       stats   `json:"issue"`
	Revoke      stats   `json:"revoke"`
	IssueCalls  calls   `json:"issue_calls"`
	RevokeCalls calls   `json:"revoke_calls"`
	// CallsPerIssue, CallsPerRevoke and ListCallsPerRevoke are cloud API
	// calls divided by the successful issues or revokes.
	CallsPerIssue      float64 `json:"calls_per_issue"`
	CallsPerRevoke     float64 `json:"calls_per_revoke"`
	ListCallsPerRevoke float64 `json:"list_calls_per_revoke"`
	// Left is how many more objects of LeftKind (IAM users, Nomad tokens)
	// the cloud holds after the revokes than before the phase.
	Left     int      `json:"left"`
	LeftKind string   `json:"left_kind"`
	Errors   []string `json:"errors,omitempty"`
}

// target is a cloud as a phase sees it: its admin endpoints and the
// object kind whose leftovers count.
type target struct {
	cloud, kind string
	admin       admin
}

// bench holds what every phase and case uses.
type bench struct {
	s      *stack
	clouds *clouds
}

// issue reads creds once and returns the lease id and the secret's data;
// secret fields are remembered by the masker.
func (b *bench) issue(ctx context.Context, e engine) (string, map[string]any, error) {
	sec, err := b.s.client.Logical().ReadWithContext(ctx, e.Creds)
	if err != nil {
		return "", nil, err
	}
	if sec == nil || sec.LeaseID == "" {
		return "", nil, errors.New("no lease in the answer")
	}
	for k, v := range sec.Data {
		if k == "secret_key" || k == "secret_id" || k == "security_token" || k == "token" {
			b.s.masker.add(fmt.Sprint(v))
		}
	}
	return sec.LeaseID, sec.Data, nil
}

// revoke revokes one lease synchronously (sys/leases/revoke, sync=true).
func (b *bench) revoke(ctx context.Context, lease string) error {
	return b.s.client.Sys().RevokeWithContext(ctx, lease)
}

// warm issues and revokes one credential, unmeasured, so that client
// construction and plugin start-up are not in the numbers.
func (b *bench) warm(ctx context.Context, e engine) error {
	lease, _, err := b.issue(ctx, e)
	if err != nil {
		return fmt.Errorf("warm-up %s: %s", e.Creds, b.s.masker.mask(err.Error()))
	}
	if err := b.revoke(ctx, lease); err != nil {
		return fmt.Errorf("warm-up revoke %s: %s", e.Creds, b.s.masker.mask(err.Error()))
	}
	return nil
}

// Mode names.
const (
	modeSequential  = "sequential"
	modeConcurrent  = "concurrent"
	modeRateLimited = "concurrent, rate-limited"
)

// mode is how a phase runs: its name, size, whether its calls run all at
// once, the faults the cloud injects meanwhile, and how long to wait
// between the issues and the revokes.
type mode struct {
	name       string
	n          int
	concurrent bool
	faults     emulator.Faults
	refill     time.Duration
}

// callsPerAWSOp is what one issue or one revoke of the bench role needs:
// CreateUser, AttachUserPolicy per policy, PutUserPolicy, AddUserToGroup
// per group, CreateAccessKey (and the reverse for a revoke).
var callsPerAWSOp = 1 + len(benchPolicyARNs) + 1 + len(benchGroups) + 1

// floor is the least time n operations of callsPerAWSOp calls take under
// an account bucket of rate calls/s and burst max(1, rate), full at the
// start (the emulators' bucket: internal/emulator).
func floor(n int, rate float64) time.Duration {
	calls := float64(n * callsPerAWSOp)
	return time.Duration((calls - max(1, rate)) / rate * float64(time.Second))
}

// phase issues m.n credentials of e, then revokes them, one at a time or
// all at once, measuring each call and the cloud calls each batch cost.
func (b *bench) phase(ctx context.Context, t target, e engine, m mode, run int) (phaseResult, error) {
	r := phaseResult{Cloud: t.cloud, Engine: e.Name, Mode: m.name, Run: run, N: m.n, LeftKind: t.kind, RateLimitRPS: m.faults.RateLimitRPS}
	if m.faults.RateLimitRPS > 0 {
		r.FloorMS = ms(floor(m.n, m.faults.RateLimitRPS))
	}
	n, concurrent := m.n, m.concurrent
	if err := t.admin.setFaults(ctx, m.faults); err != nil {
		return r, err
	}
	before, err := t.admin.state(ctx)
	if err != nil {
		return r, err
	}
	c0, err := t.admin.calls(ctx)
	if err != nil {
		return r, err
	}
	t0 := time.Now()
	leases := make([]string, n)
	durs, errs, wall := batch(ctx, n, concurrent, func(ctx context.Context, i int) error {
		lease, _, err := b.issue(ctx, e)
		leases[i] = lease
		return err
	})
	nerr, msgs := countErrors(errs, b.s.masker)
	r.Issue = summarize(durs, nerr, wall)
	r.Errors = append(r.Errors, prefixAll("issue: ", msgs)...)
	c1, err := t.admin.calls(ctx)
	if err != nil {
		return r, err
	}
	r.IssueCalls = callsBetween(c0, c1, t0)

	var live []string
	for _, l := range leases {
		if l != "" {
			live = append(live, l)
		}
	}
	if m.refill > 0 {
		select {
		case <-time.After(m.refill):
		case <-ctx.Done():
			return r, ctx.Err()
		}
		if c1, err = t.admin.calls(ctx); err != nil {
			return r, err
		}
	}
	t1 := time.Now()
	durs, errs, wall = batch(ctx, len(live), concurrent, func(ctx context.Context, i int) error {
		return b.revoke(ctx, live[i])
	})
	nerr, msgs = countErrors(errs, b.s.masker)
	r.Revoke = summarize(durs, nerr, wall)
	r.Errors = append(r.Errors, prefixAll("revoke: ", msgs)...)
	c2, err := t.admin.calls(ctx)
	if err != nil {
		return r, err
	}
	r.RevokeCalls = callsBetween(c1, c2, t1)
	after, err := t.admin.state(ctx)
	if err != nil {
		return r, err
	}
	r.Left = after[t.kind] - before[t.kind]
	r.CallsPerIssue = per(r.IssueCalls.Total, r.Issue.N-r.Issue.Errors)
	r.CallsPerRevoke = per(r.RevokeCalls.Total, r.Revoke.N-r.Revoke.Errors)
	r.ListCallsPerRevoke = per(r.RevokeCalls.List, r.Revoke.N-r.Revoke.Errors)
	return r, ctx.Err()
}

func prefixAll(p string, msgs []string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = p + m
	}
	return out
}
