package aws_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// roleCheckActions are the only calls a role write may make.
var roleCheckActions = map[string]bool{"GetPolicy": true, "GetGroup": true, "GetRole": true, "GetCallerIdentity": true}

// requireOnlyReads asserts that the emulator saw no call but the role
// checks' reads (in particular no Create*, Attach*, Put*, Add*).
func requireOnlyReads(t *testing.T, counts map[string]int) {
	t.Helper()
	for a, n := range counts {
		require.True(t, roleCheckActions[a], "a role write called %s %d time(s)", a, n)
		require.False(t, strings.HasPrefix(a, "Create"), "a role write called %s", a)
	}
}

// requireNoRole asserts that roles/aws/<name> is not stored.
func (e *env) requireNoRole(name string) {
	e.T.Helper()
	resp, err := e.Do(logical.ReadOperation, "roles/aws/"+name, nil)
	require.NoError(e.T, err)
	require.Nil(e.T, resp, "role %s must not be stored", name)
}

// A role naming a well-formed but nonexistent managed policy, boundary,
// group or role is a 400 naming the field; nothing is stored and nothing
// is created; each named object is read once.
func TestRoleWriteRefusesNonexistent(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	p1 := e.policy("p1")
	e.group("devs")
	deploy := e.role("deploy")
	const (
		nope    = "arn:aws:iam::123456789012:policy/nope"
		nope2   = "arn:aws:iam::123456789012:policy/team/nope2"
		noRole  = "arn:aws:iam::123456789012:role/nope"
		noRole2 = "arn:aws:iam::123456789012:role/team/nope"
	)
	cases := []struct {
		name  string
		role  map[string]any
		field string
		want  []string
		calls map[string]int // reads expected (GetCallerIdentity aside)
	}{
		{"nonexistent policy ARN", map[string]any{"policy_arns": []string{p1, nope}},
			"policy_arns", []string{`managed policy "` + nope + `" does not exist in the account`}, map[string]int{"GetPolicy": 2}},
		{"nonexistent AWS managed policy", map[string]any{"policy_arns": []string{"arn:aws:iam::aws:policy/NoSuchAccess"}},
			"policy_arns", []string{"aws:policy/NoSuchAccess", "does not exist in the account"}, map[string]int{"GetPolicy": 1}},
		{"several nonexistent policies", map[string]any{"policy_arns": []string{nope, p1, nope2}},
			"policy_arns", []string{`managed policies "` + nope + `" and "` + nope2 + `" do not exist in the account`}, map[string]int{"GetPolicy": 3}},
		{"nonexistent boundary", map[string]any{"policy_document": allowS3, "permissions_boundary_arn": nope},
			"permissions_boundary_arn", []string{nope, "does not exist in the account"}, map[string]int{"GetPolicy": 1}},
		{"nonexistent boundary, policies exist", map[string]any{"policy_arns": []string{p1, "arn:aws:iam::aws:policy/ReadOnlyAccess"}, "permissions_boundary_arn": nope2},
			"permissions_boundary_arn", []string{nope2, "does not exist in the account"}, map[string]int{"GetPolicy": 3}},
		{"nonexistent group", map[string]any{"iam_groups": []string{"devs", "no-such-group"}},
			"iam_groups", []string{`IAM group "no-such-group" does not exist in the account`}, map[string]int{"GetGroup": 2}},
		{"everything nonexistent: the first field is named, every read is made", map[string]any{"policy_arns": []string{nope}, "permissions_boundary_arn": nope2, "iam_groups": []string{"no-such-group"}},
			"policy_arns", []string{nope, "does not exist in the account"}, map[string]int{"GetPolicy": 2, "GetGroup": 1}},
		{"nonexistent role ARN", map[string]any{"credential_type": "assumed_role", "role_arns": []string{deploy, noRole}},
			"role_arns", []string{`IAM role "` + noRole + `" does not exist in the account`}, map[string]int{"GetRole": 2}},
		{"nonexistent role ARN with a path", map[string]any{"credential_type": "assumed_role", "role_arns": []string{noRole2}},
			"role_arns", []string{noRole2, "does not exist in the account"}, map[string]int{"GetRole": 1}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "bad" + string(rune('a'+i))
			before := e.ts.State()
			e.ts.Core().Reset()
			msg := e.BadRequest(logical.UpdateOperation, "roles/aws/"+name, c.role, c.want...)
			require.True(t, strings.HasPrefix(msg, c.field+": "), "the message names the field first: %s", msg)

			counts := e.ts.Core().Calls().Counts
			requireOnlyReads(t, counts)
			delete(counts, "GetCallerIdentity")
			require.Equal(t, c.calls, counts, "one read per named object")
			e.requireNoRole(name)
			require.Equal(t, before, e.ts.State(), "nothing created")
		})
	}
	require.Empty(t, e.vaultUsers())

	// An update that names a nonexistent group is refused and leaves the
	// stored role as it was.
	e.OK(logical.UpdateOperation, "roles/aws/ok", map[string]any{"policy_arns": []string{p1}})
	e.BadRequest(logical.UpdateOperation, "roles/aws/ok", map[string]any{"iam_groups": []string{"no-such-group"}}, "iam_groups", "does not exist")
	resp := e.OK(logical.ReadOperation, "roles/aws/ok", nil)
	require.Empty(t, resp.Data["iam_groups"])

	// The object made later, the same write succeeds.
	e.group("no-such-group")
	e.OK(logical.UpdateOperation, "roles/aws/ok", map[string]any{"iam_groups": []string{"no-such-group"}})
}

// Existing objects are accepted: one read per distinct object, all in
// flight at once; assumed_role reads the credential's account once per
// instance and does not check roles of other accounts.
func TestRoleWriteChecksExistenceConcurrently(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	p1, p2 := e.policy("p1"), e.policy("p2")
	e.group("devs")
	e.group("ops")
	deploy, audit := e.role("deploy"), e.role("audit")

	e.ts.Core().Reset()
	e.ts.Core().SetFaults(emulator.Faults{LatencyMS: 150})
	e.OK(logical.UpdateOperation, "roles/aws/full", map[string]any{
		"policy_arns":              []string{p1, p2, "arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"permissions_boundary_arn": boundaryARN,
		"iam_groups":               []string{"devs", "ops"},
		"policy_document":          allowS3,
	})
	calls := e.ts.Core().Calls()
	requireOnlyReads(t, calls.Counts)
	require.Equal(t, map[string]int{"GetPolicy": 4, "GetGroup": 2}, calls.Counts, "3 policies + boundary + 2 groups")
	require.Equal(t, 6, calls.MaxOverlap(), "all 6 reads in flight at once")

	// A boundary that is also attached is read once.
	e.ts.Core().Reset()
	e.OK(logical.UpdateOperation, "roles/aws/same", map[string]any{"policy_arns": []string{p1, p2}, "permissions_boundary_arn": p1})
	require.Equal(t, map[string]int{"GetPolicy": 2}, e.ts.Core().Calls().Counts)

	// assumed_role: GetRole per role ARN of this account; the account is
	// read once; a role of another account is left to AssumeRole.
	e.ts.Core().Reset()
	e.ts.Core().SetFaults(emulator.Faults{LatencyMS: 150})
	elsewhere := "arn:aws:iam::210987654321:role/elsewhere"
	e.OK(logical.UpdateOperation, "roles/aws/assume", map[string]any{"credential_type": "assumed_role", "role_arns": []string{deploy, audit, elsewhere}})
	calls = e.ts.Core().Calls()
	require.Equal(t, map[string]int{"GetCallerIdentity": 1, "GetRole": 2}, calls.Counts)
	require.Equal(t, 2, calls.MaxOverlap("GetRole"))
	e.ts.Core().Reset()
	e.OK(logical.UpdateOperation, "roles/aws/assume", map[string]any{"ttl": "1h"})
	require.Equal(t, map[string]int{"GetRole": 2}, e.ts.Core().Calls().Counts, "the account is cached")

	// The roles work.
	resp := e.issue("full", nil)
	_, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	e.issue("assume", map[string]any{"role_arn": deploy})
	require.Empty(t, e.vaultUsers())
}

// The role checks share max_concurrent_iam_calls with everything else.
func TestRoleWriteRespectsIAMCallCap(t *testing.T) {
	e := newEnv(t, awstest.Options{}, map[string]any{"max_concurrent_iam_calls": 2})
	p1, p2 := e.policy("p1"), e.policy("p2")
	e.group("devs")
	e.group("ops")
	e.ts.Core().Reset()
	e.ts.Core().SetFaults(emulator.Faults{LatencyMS: 50})
	e.OK(logical.UpdateOperation, "roles/aws/r", map[string]any{
		"policy_arns": []string{p1, p2, "arn:aws:iam::aws:policy/ReadOnlyAccess"}, "permissions_boundary_arn": boundaryARN,
		"iam_groups": []string{"devs", "ops"},
	})
	calls := e.ts.Core().Calls()
	require.Equal(t, 6, calls.Total)
	require.Equal(t, 2, calls.MaxOverlap())
}

// A read that still fails after the retries (throttling, 5xx) fails the
// role write with 502, stores nothing and can be retried; a nonexistent
// object is still a 400 when another read fails.
func TestRoleWriteCloudFailure(t *testing.T) {
	e := newEnv(t, awstest.Options{}, map[string]any{"max_retries": 1, "retry_max_backoff": "1s"})
	p1 := e.policy("p1")
	e.group("devs")
	deploy := e.role("deploy")
	cases := []struct {
		name   string
		faults emulator.Faults
		role   map[string]any
		status int
		want   []string
		calls  map[string]int
	}{
		{"throttled after retries", emulator.Faults{ThrottleRate: 1}, map[string]any{"policy_arns": []string{p1}},
			http.StatusBadGateway, []string{"GetPolicy", "Throttling"}, map[string]int{"GetPolicy": 2}},
		{"5xx after retries", emulator.Faults{FailActions: map[string]int{"GetGroup": 2}}, map[string]any{"policy_arns": []string{p1}, "iam_groups": []string{"devs"}},
			http.StatusBadGateway, []string{"GetGroup", "ServiceFailure"}, map[string]int{"GetPolicy": 1, "GetGroup": 2}},
		{"5xx on GetRole", emulator.Faults{FailActions: map[string]int{"GetRole": 2}}, map[string]any{"credential_type": "assumed_role", "role_arns": []string{deploy}},
			http.StatusBadGateway, []string{"GetRole", "ServiceFailure"}, map[string]int{"GetCallerIdentity": 1, "GetRole": 2}},
		{"nonexistent beats 5xx", emulator.Faults{FailActions: map[string]int{"GetGroup": 2}}, map[string]any{"policy_arns": []string{"arn:aws:iam::123456789012:policy/nope"}, "iam_groups": []string{"devs"}},
			http.StatusBadRequest, []string{"policy_arns", "does not exist"}, map[string]int{"GetPolicy": 1, "GetGroup": 2}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "r" + string(rune('a'+i))
			e.ts.Core().Reset()
			e.ts.Core().SetFaults(c.faults)
			if c.status == http.StatusBadRequest {
				e.BadRequest(logical.UpdateOperation, "roles/aws/"+name, c.role, c.want...)
			} else {
				e.Coded(c.status, logical.UpdateOperation, "roles/aws/"+name, c.role, c.want...)
			}
			counts := e.ts.Core().Calls().Counts
			requireOnlyReads(t, counts)
			require.Equal(t, c.calls, counts)
			e.requireNoRole(name)

			if c.status == http.StatusBadGateway {
				e.ts.Core().SetFaults(emulator.Faults{})
				e.OK(logical.UpdateOperation, "roles/aws/"+name, c.role)
			}
		})
	}
	require.Empty(t, e.vaultUsers())
}

// A credential that may not read policies, groups or roles (Vault's
// recommended policy for its AWS engine grants no iam:Get*): the role is
// accepted unchecked rather than refused.
func TestRoleWriteAccessDeniedAccepts(t *testing.T) {
	s := awstest.New(awstest.Options{})
	var denied atomic.Int64
	hs := httptest.NewServer(aws.DenyActions(s, &denied, "GetPolicy", "GetGroup", "GetRole"))
	t.Cleanup(hs.Close)
	e := newEnvOn(t, &awstest.TestServer{Server: s, URL: hs.URL, Admin: hs.URL + emulator.AdminPrefix}, nil)
	p1 := e.policy("p1")
	e.group("devs")
	deploy := e.role("deploy")

	e.ts.Core().Reset()
	e.OK(logical.UpdateOperation, "roles/aws/u", map[string]any{"policy_arns": []string{p1}, "iam_groups": []string{"devs"}, "permissions_boundary_arn": boundaryARN})
	e.OK(logical.UpdateOperation, "roles/aws/unchecked", map[string]any{"policy_arns": []string{"arn:aws:iam::123456789012:policy/nope"}})
	e.OK(logical.UpdateOperation, "roles/aws/a", map[string]any{"credential_type": "assumed_role", "role_arns": []string{deploy, "arn:aws:iam::123456789012:role/nope"}})
	require.EqualValues(t, 3+1+2, denied.Load(), "one read per named object; AccessDenied is not retried")
	require.Equal(t, map[string]int{"GetCallerIdentity": 1}, e.ts.Core().Calls().Counts)

	resp := e.issue("u", nil)
	_, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	e.issue("a", map[string]any{"role_arn": deploy})
	require.Empty(t, e.vaultUsers())
}
