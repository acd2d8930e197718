package e2e

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCompanionFailures: each way the companion can fail before the
// command runs gives a clear error naming the cause and its documented
// exit status; the command does not run; any lease already obtained is
// revoked, so no object is left in any emulator (Done means 7).
func TestCompanionFailures(t *testing.T) {
	c := newCIStack(t)
	require.NoError(t, c.client.Sys().PutPolicy("read-role",
		`path "`+mount+`/roles/aws/ci" { capabilities = ["read"] }`))
	require.NoError(t, c.client.Sys().PutPolicy("aws-only", `
path "`+mount+`/creds/aws/*" { capabilities = ["read"] }
path "sys/leases/revoke/`+mount+`/creds/*" { capabilities = ["update"] }
`))
	token := c.ciToken(t)
	roleReader := c.ciToken(t, "ci-creds", "read-role")
	awsOnly := c.ciToken(t, "aws-only")
	closed := companionClosedAddr(t)

	aws := "aws=" + mount + "/creds/aws/ci"
	nomad := "nomad=" + mount + "/creds/nomad/ci"
	job := append([]string{"--"}, childCommand()...)
	exec := func(flags ...string) []string { return append(append([]string{"exec"}, flags...), job...) }

	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		want   int
		msg    string
		issued int // leases issued (and revoked) before the failure
	}{
		{name: "unknown flag", args: exec("--cred", aws, "--ttl", "1h"), want: 64,
			msg: "flag provided but not defined: -ttl"},
		{name: "malformed --cred", args: exec("--cred", aws, "--cred", mount+"/creds/nomad/ci"), want: 64,
			msg: "want kind=path"},
		{name: "not a credential", env: []string{"VAULT_TOKEN=" + roleReader}, args: exec("--cred", "aws="+mount+"/roles/aws/ci"),
			want: 65, msg: "the answer has no lease, so it is not a dynamic credential"},
		{name: "no such role, after a first credential", args: exec("--cred", aws, "--cred", "nomad="+mount+"/creds/nomad/nosuch"),
			want: 65, msg: "read " + mount + "/creds/nomad/nosuch: Vault has nothing at this path (404)", issued: 1},
		{name: "a credential of another kind, after a first one", args: exec("--cred", nomad, "--cred", "aws="+mount+"/creds/nomad/ci"),
			want: 65, msg: `the data has no "access_key" field`, issued: 2},
		{name: "refused, after a first credential", env: []string{"VAULT_TOKEN=" + awsOnly}, args: exec("--cred", aws, "--cred", nomad),
			want: 77, msg: "read " + mount + "/creds/nomad/ci: Vault answered 403: 1 error occurred: * permission denied", issued: 1},
		{name: "invalid token", env: []string{"VAULT_TOKEN=hvs.not-a-real-token-at-all"}, args: exec("--cred", aws),
			want: 77, msg: "look up the Vault token: Vault answered 403"},
		{name: "no identity at all", env: []string{"VAULT_TOKEN="}, args: exec("--cred", aws),
			want: 77, msg: "no Vault token (VAULT_TOKEN, ~/.vault-token) and no login configured"},
		{name: "Vault unreachable", env: []string{"VAULT_ADDR=" + closed}, args: exec("--cred", aws),
			want: 69, msg: "Vault unreachable"},
		{name: "command not found", args: []string{"exec", "--cred", aws, "--", "no-such-job-command"},
			want: 127, msg: `command "no-such-job-command" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.cloudCounts()
			report := filepath.Join(t.TempDir(), "report")
			env := append(c.env(report, "exit:0", "VAULT_TOKEN="+token), tc.env...)
			r := c.run(t, env, tc.args...)
			require.Equal(t, tc.want, r.code, "stderr:\n%s", r.stderr.String())
			require.NoFileExists(t, report, "the command must not run")
			require.Contains(t, r.stderr.String(), "cloudcreds: error: ")
			require.Contains(t, r.stderr.String(), oneLine(tc.msg))
			require.Len(t, r.leaseIDs(), tc.issued, r.stderr.String())
			c.requireRevoked(t, r.leaseIDs())
			c.requireBaseline(t, before, tc.name)
			t.Logf("%s: exit %d in %s: %s", tc.name, r.code, r.took.Round(time.Millisecond), companionLastLine(r.stderr.String()))
		})
	}

	t.Run("Vault sealed", func(t *testing.T) {
		before := c.cloudCounts()
		res := c.vault.CLI(t, "operator", "seal")
		require.Equal(t, 0, res.ExitCode, res.Stderr)
		report := filepath.Join(t.TempDir(), "report")
		r := c.run(t, c.env(report, "exit:0", "VAULT_TOKEN="+token), exec("--cred", aws)...)
		require.Equal(t, 69, r.code, r.stderr.String())
		require.Contains(t, r.stderr.String(), "Vault is sealed")
		require.NoFileExists(t, report)
		c.requireBaseline(t, before, "sealed")
	})

	t.Run("secret scan", func(t *testing.T) {
		secrets, places := c.scanRuns(t, token, roleReader, awsOnly)
		t.Logf("scanned %d places for %d secrets", places, secrets)
	})
}

// companionClosedAddr returns the address of a loopback port nothing listens on.
func companionClosedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// oneLine is how the companion prints a multi-line message: on one line.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func companionLastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
