package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"
)

// companionExecArgs is `cloudcreds exec` with an AWS and a Nomad credential and the
// child as the command.
func companionExecArgs(extra ...string) []string {
	args := append([]string{"exec",
		"--cred", "aws=" + mount + "/creds/aws/ci",
		"--cred", "nomad=" + mount + "/creds/nomad/ci",
	}, extra...)
	return append(append(args, "--"), childCommand()...)
}

// requireChildUsedBoth checks the child's first report: the AWS key passed
// the emulator's signature check and the Nomad token authenticated, both
// read from the environment, NOMAD_ADDR included.
func requireChildUsedBoth(t *testing.T, c *ciStack, rep childReport, leaked ...string) {
	t.Helper()
	require.Empty(t, rep.AWSErr, "the AWS key works")
	require.Contains(t, rep.AWSARN, ":user/")
	require.Empty(t, rep.NomadErr, "the Nomad token works")
	require.NotEmpty(t, rep.NomadAccessor)
	require.Equal(t, c.nomad.URL, rep.Env["NOMAD_ADDR"], "NOMAD_ADDR comes from the credential")
	require.NotContains(t, rep.Env, "AWS_SESSION_TOKEN", "an IAM user key has no session token")
	require.Equal(t, leaked, rep.Leaked, "companion-only variables the job sees")
}

// TestCompanionExec: exec with an AWS and a Nomad credential, the command
// using both; whether it exits 0, exits 3, the companion gets SIGINT or
// SIGTERM (passed on to the command) or the command is SIGKILLed, the exit status is passed through, the leases
// are revoked and the emulators are back where they were (Done means 1);
// and no secret shows in any output or argv (Done means 6).
func TestCompanionExec(t *testing.T) {
	c := newCIStack(t)
	token := c.ciToken(t)

	for _, tc := range []struct {
		name string
		mode string
		act  func(t *testing.T, r *companionRun, rep childReport)
		want int
	}{
		{name: "exit 0", mode: "exit:0", want: 0},
		{name: "exit 3", mode: "exit:3", want: 3},
		{name: "SIGINT to the companion", mode: "wait", want: 128 + int(syscall.SIGINT),
			act: func(t *testing.T, r *companionRun, _ childReport) {
				require.NoError(t, r.cmd.Process.Signal(syscall.SIGINT))
			}},
		{name: "SIGTERM to the companion", mode: "wait", want: 128 + int(syscall.SIGTERM),
			act: func(t *testing.T, r *companionRun, _ childReport) {
				require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
			}},
		{name: "command SIGKILLed", mode: "wait", want: 128 + int(syscall.SIGKILL),
			act: func(t *testing.T, _ *companionRun, rep childReport) {
				require.NoError(t, syscall.Kill(rep.PID, syscall.SIGKILL))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.cloudCounts()
			report := filepath.Join(t.TempDir(), "report")
			r := c.start(t, c.env(report, tc.mode, "VAULT_TOKEN="+token), companionExecArgs()...)
			rep := r.waitReport(t, 1, time.Minute)[0]
			requireChildUsedBoth(t, c, rep)
			leases := r.leases()
			require.Len(t, leases, 2, r.stderr.String())
			if tc.act != nil {
				// The credentials exist while the command runs.
				require.Equal(t, before.aws["users"]+1, c.aws.State()["users"])
				require.Equal(t, before.nomad["tokens"]+1, c.nomad.State()["tokens"])
				tc.act(t, r, rep)
			}
			r.wait(t, time.Minute)
			require.Equal(t, tc.want, r.code, "the command's status is passed through; stderr:\n%s", r.stderr.String())
			c.requireRevoked(t, r.leaseIDs())
			c.requireBaseline(t, before, tc.name)
			t.Logf("%s: exit %d in %s", tc.name, r.code, r.took.Round(time.Millisecond))
		})
	}

	t.Run("command ignores SIGTERM: revoked after the grace", func(t *testing.T) {
		before := c.cloudCounts()
		report := filepath.Join(t.TempDir(), "report")
		r := c.start(t, c.env(report, "ignore-term", "VAULT_TOKEN="+token), companionExecArgs("--signal-grace", "1s")...)
		rep := r.waitReport(t, 1, time.Minute)[0]
		requireChildUsedBoth(t, c, rep)
		signalled := time.Now()
		require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
		eventually(t, "the credentials to be revoked while the command still runs", 30*time.Second, func() bool {
			return c.aws.State()["users"] == before.aws["users"] && c.nomad.State()["tokens"] == before.nomad["tokens"]
		})
		revokedAfter := time.Since(signalled)
		select {
		case <-r.done:
			t.Fatalf("the companion must keep waiting for its command")
		default:
		}
		require.NoError(t, syscall.Kill(rep.PID, syscall.SIGKILL))
		r.wait(t, time.Minute)
		require.Equal(t, 128+int(syscall.SIGKILL), r.code)
		require.Contains(t, r.stderr.String(), "revoking its credentials now")
		c.requireRevoked(t, r.leaseIDs())
		c.requireBaseline(t, before, "grace")
		t.Logf("revoked %s after SIGTERM (grace 1s)", revokedAfter.Round(time.Millisecond))
	})

	t.Run("ncloud through env", func(t *testing.T) {
		c.write(t, "roles/ncloud/sub", map[string]any{"credential_type": "sub_account", "policies": "NCP_INFRA_MANAGER", "ttl": "10m"})
		before := c.ncloud.State()
		r := c.run(t, c.env(filepath.Join(t.TempDir(), "r"), "", "VAULT_TOKEN="+token), "env", "--cred", "ncloud="+mount+"/creds/ncloud/sub")
		require.Equal(t, 0, r.code, r.stderr.String())
		vars := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(r.stdout.String()), "\n") {
			k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
			require.True(t, ok, "an export line")
			vars[k] = strings.Trim(v, "'")
		}
		c.ncloudKeyWorks(t, vars["NCLOUD_ACCESS_KEY"], vars["NCLOUD_SECRET_KEY"])
		require.Equal(t, r.leaseIDs(), strings.Fields(vars["CLOUDCREDS_LEASES"]))
		require.NotContains(t, vars, "CLOUDCREDS_VAULT_TOKEN", "the caller's own token is not printed")
		rv := c.run(t, append(c.env(filepath.Join(t.TempDir(), "r"), "", "VAULT_TOKEN="+token),
			"CLOUDCREDS_LEASES="+vars["CLOUDCREDS_LEASES"]), "revoke")
		require.Equal(t, 0, rv.code, rv.stderr.String())
		c.requireRevoked(t, r.leaseIDs())
		require.Equal(t, before["sub_accounts"], c.ncloud.State()["sub_accounts"])
	})

	t.Run("secret scan", func(t *testing.T) {
		secrets, places := c.scanRuns(t, token)
		t.Logf("scanned %d places for %d secrets", places, secrets)
		require.GreaterOrEqual(t, secrets, 10)
	})
}

// TestCompanionRenewal: a command that runs longer than the leases' TTL
// and the login token's keeps working: the leases are renewed (Vault's
// lease lookup shows it), the companion warns before a lease reaches its
// max TTL, and everything is revoked at the end (Done means 2).
func TestCompanionRenewal(t *testing.T) {
	c := newCIStack(t)
	c.write(t, "roles/aws/short", map[string]any{"credential_type": "iam_user",
		"policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess", "ttl": "8s", "max_ttl": "18s"})
	c.write(t, "roles/nomad/short", map[string]any{"policies": "readonly", "ttl": "8s", "max_ttl": "18s"})
	// The job's own token is short too: if it were not renewed, Vault
	// would revoke it, and every lease made with it, after 8 s.
	renewable := true
	sec, err := c.client.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"ci-creds"},
		TTL: "8s", ExplicitMaxTTL: "5m", Renewable: &renewable})
	require.NoError(t, err)
	token := sec.Auth.ClientToken
	before := c.cloudCounts()

	report := filepath.Join(t.TempDir(), "report")
	r := c.start(t, c.env(report, "recheck:14s", "VAULT_TOKEN="+token), "exec",
		"--cred", "aws="+mount+"/creds/aws/short", "--cred", "nomad="+mount+"/creds/nomad/short", "--",
		childCommand()[0], childCommand()[1])
	first := r.waitReport(t, 1, time.Minute)[0]
	requireChildUsedBoth(t, c, first)
	leases := r.leases()
	require.Len(t, leases, 2)

	// Vault's own lease lookup shows the renewals.
	eventually(t, "both leases to be renewed", 15*time.Second, func() bool {
		for _, id := range leases {
			l, err := c.client.Sys().Lookup(id)
			if err != nil || l.Data["last_renewal"] == nil {
				return false
			}
		}
		return true
	})
	r.wait(t, time.Minute)
	require.Equal(t, 0, r.code, "both checks passed, the second after 2× the TTL; stderr:\n%s", r.stderr.String())
	reps := r.reports(t)
	require.Len(t, reps, 2)
	require.Empty(t, reps[1].AWSErr, "the AWS key still works at %s", r.took)
	require.Empty(t, reps[1].NomadErr, "the Nomad token still works")
	require.Regexp(t, `lease `+mount+`/creds/aws/short/\S+ reached its max TTL: it ends at`, r.stderr.String())
	require.Contains(t, r.stderr.String(), "renewed the Vault token")
	c.requireRevoked(t, r.leaseIDs())
	c.requireBaseline(t, before, "renewal")
	secrets, places := c.scanRuns(t, token)
	t.Logf("ran %s with 8s leases (max 18s) and an 8s token; scanned %d places for %d secrets", r.took.Round(time.Millisecond), places, secrets)
	require.Equal(t, 1, strings.Count(r.stderr.String(), "lease "+leases["aws"]+" reached its max TTL"), "warned once")
}
