package main

import (
	"context"
	"fmt"
	"strings"
)

// caseStep is one command of a failure case and what it did.
type caseStep struct {
	Command  string `json:"command"`
	ExitCode int    `json:"exit_code"`
	// Output is Vault's error lines (masked), empty on success.
	Output string `json:"output,omitempty"`
	// CloudCalls is the number of cloud API calls the command caused.
	CloudCalls int `json:"cloud_calls"`
	// Left is how many more objects of the case's kind the cloud holds
	// after the command than before the credential was issued.
	Left int `json:"left"`
}

// caseResult is one engine's behaviour in a failure case.
type caseResult struct {
	Case   string     `json:"case"`
	Engine string     `json:"engine"`
	Kind   string     `json:"kind"`
	Steps  []caseStep `json:"steps"`
	// LeaseLeft says whether Vault still holds the lease after the first
	// `vault lease revoke -sync` (it will retry, then mark it irrevocable).
	LeaseLeft bool `json:"lease_left"`
}

// Case names.
const (
	caseNomadDeleted = "nomad_token_deleted_behind_vaults_back"
	caseAWSTruncated = "aws_truncated_list_pages"
)

// nomadDeletedCase issues one Nomad token from e, deletes it in Nomad
// directly (as an operator or Nomad's own expiry would), then asks Vault
// to revoke the lease with `vault lease revoke -sync`. Nomad answers 400
// "Cannot delete nonexistent tokens" to the second delete.
func (b *bench) nomadDeletedCase(ctx context.Context, e engine) (caseResult, error) {
	r := caseResult{Case: caseNomadDeleted, Engine: e.Name, Kind: "tokens"}
	t := target{cloud: "nomad", kind: "tokens", admin: b.clouds.nomad.admin}
	base, err := t.admin.state(ctx)
	if err != nil {
		return r, err
	}
	lease, data, err := b.issue(ctx, e)
	if err != nil {
		return r, fmt.Errorf("issue %s: %s", e.Creds, b.s.masker.mask(err.Error()))
	}
	accessor := fmt.Sprint(data["accessor_id"])
	if err := b.clouds.nomad.deleteToken(ctx, accessor); err != nil {
		return r, err
	}
	r.Steps = append(r.Steps, caseStep{Command: "DELETE /v1/acl/token/<accessor> (Nomad API, root token)", CloudCalls: 1})
	if r.Steps[0].Left, err = b.left(ctx, t, base); err != nil {
		return r, err
	}
	step, err := b.cliStep(ctx, t, base, "lease", "revoke", "-sync", lease)
	if err != nil {
		return r, err
	}
	step.Output = strings.ReplaceAll(step.Output, accessor, "<accessor>")
	r.Steps = append(r.Steps, step)
	if r.LeaseLeft, err = b.leaseExists(ctx, lease); err != nil {
		return r, err
	}
	if r.LeaseLeft {
		// The operator's only way out: forget the lease without the engine.
		step, err := b.cliStep(ctx, t, base, "lease", "revoke", "-force", "-prefix", lease)
		if err != nil {
			return r, err
		}
		r.Steps = append(r.Steps, step)
	}
	return r, nil
}

// truncatedCase issues one iam_user credential from e against the account
// that answers List* with pages of 2 (IAM may return fewer items than
// MaxItems and set IsTruncated), then revokes it with
// `vault lease revoke -sync`; if the lease is still there, once more.
func (b *bench) truncatedCase(ctx context.Context, e engine) (caseResult, error) {
	r := caseResult{Case: caseAWSTruncated, Engine: e.Name, Kind: "users"}
	t := target{cloud: "aws", kind: "users", admin: b.clouds.truncated.admin}
	base, err := t.admin.state(ctx)
	if err != nil {
		return r, err
	}
	lease, _, err := b.issue(ctx, e)
	if err != nil {
		return r, fmt.Errorf("issue %s: %s", e.Creds, b.s.masker.mask(err.Error()))
	}
	for attempt := 0; attempt < 2; attempt++ {
		step, err := b.cliStep(ctx, t, base, "lease", "revoke", "-sync", lease)
		if err != nil {
			return r, err
		}
		r.Steps = append(r.Steps, step)
		exists, err := b.leaseExists(ctx, lease)
		if err != nil {
			return r, err
		}
		if attempt == 0 {
			r.LeaseLeft = exists
		}
		if !exists {
			break
		}
	}
	return r, nil
}

// cliStep runs one vault CLI command and records its exit code, error
// lines, the cloud calls it caused and the objects left afterwards.
func (b *bench) cliStep(ctx context.Context, t target, base map[string]int, args ...string) (caseStep, error) {
	c0, err := t.admin.calls(ctx)
	if err != nil {
		return caseStep{}, err
	}
	out, code, err := b.s.cli(ctx, args...)
	if err != nil {
		return caseStep{}, err
	}
	c1, err := t.admin.calls(ctx)
	if err != nil {
		return caseStep{}, err
	}
	st := caseStep{Command: "vault " + joinArgs(args), ExitCode: code, CloudCalls: c1.Total - c0.Total}
	if code != 0 {
		st.Output = errText(out)
	}
	st.Left, err = b.left(ctx, t, base)
	return st, err
}

// left returns how many more objects of t.kind the cloud holds than base.
func (b *bench) left(ctx context.Context, t target, base map[string]int) (int, error) {
	st, err := t.admin.state(ctx)
	if err != nil {
		return 0, err
	}
	return st[t.kind] - base[t.kind], nil
}

// leaseExists reports whether Vault still holds the lease.
func (b *bench) leaseExists(ctx context.Context, lease string) (bool, error) {
	sec, err := b.s.client.Sys().LookupWithContext(ctx, lease)
	if err != nil {
		return false, nil // 400 "invalid lease": gone
	}
	return sec != nil, nil
}

// joinArgs renders CLI arguments with lease ids shortened to their role
// prefix, for the report.
func joinArgs(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		out += shortLease(a)
	}
	return out
}
