package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
)

// companionPolicy is what a CI job's Vault identity needs: read its credential
// paths and revoke its own leases (the lease id is in the request path, so
// the grant is scoped to this mount's credentials). Renewing is in Vault's
// default policy.
const companionPolicy = `
path "multicloud/creds/*" { capabilities = ["read"] }
path "sys/leases/revoke/multicloud/creds/*" { capabilities = ["update"] }
`

// ciStack is a stack with the companion built, an audit device that logs
// raw values (so the tests know every secret Vault handed out), and the
// ci-creds policy.
type ciStack struct {
	*stack
	t     *testing.T
	bin   string
	dir   string
	audit string

	mu   sync.Mutex
	runs []*companionRun // every run, for the secret scan
}

func newCIStack(t *testing.T) *ciStack {
	t.Helper()
	s := newStack(t, false)
	c := &ciStack{stack: s, t: t, dir: t.TempDir()}
	c.bin = buildCompanion(t, c.dir)
	c.audit = filepath.Join(c.dir, "audit.log")
	require.NoError(t, s.client.Sys().EnableAuditWithOptions("raw", &api.EnableAuditOptions{
		Type: "file", Options: map[string]string{"file_path": c.audit, "log_raw": "true"}}))
	require.NoError(t, s.client.Sys().PutPolicy("ci-creds", companionPolicy))
	return c
}

// buildCompanion builds cmd/cloudcreds into dir.
func buildCompanion(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "cloudcreds")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/cloudcreds")
	cmd.Dir = vaulttest.RepoRoot(t)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/cloudcreds: %s", b)
	return out
}

// ciToken creates a token with the ci-creds policy.
func (c *ciStack) ciToken(t *testing.T, policies ...string) string {
	t.Helper()
	if len(policies) == 0 {
		policies = []string{"ci-creds"}
	}
	sec, err := c.client.Auth().Token().Create(&api.TokenCreateRequest{Policies: policies, TTL: "10m"})
	require.NoError(t, err)
	return sec.Auth.ClientToken
}

// cloudCounts is the emulators' object counts.
type cloudCounts struct{ aws, nomad map[string]int }

func (c *ciStack) cloudCounts() cloudCounts { return cloudCounts{c.aws.State(), c.nomad.State()} }

// requireBaseline checks that every cloud object made since b is gone.
func (c *ciStack) requireBaseline(t *testing.T, b cloudCounts, what string) {
	t.Helper()
	require.Equal(t, b.aws, c.aws.State(), "%s: AWS objects left", what)
	require.Equal(t, b.nomad, c.nomad.State(), "%s: Nomad objects left", what)
}

// requireRevoked checks that Vault no longer knows the leases. Vault
// deletes a lease's entry just after its revoke has removed the cloud
// objects (and, for a token's leases, asynchronously), so it waits briefly.
func (c *ciStack) requireRevoked(t *testing.T, ids []string) {
	t.Helper()
	for _, id := range ids {
		eventually(t, "lease "+id+" to be gone", 10*time.Second, func() bool {
			_, err := c.client.Sys().Lookup(id)
			return err != nil
		})
	}
}

// companionBuffer is a bytes.Buffer safe to read while a process writes it.
type companionBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *companionBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *companionBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// companionRun is one run of cloudcreds.
type companionRun struct {
	cmd            *exec.Cmd
	stdout, stderr companionBuffer
	report         string // the child's report file
	done           chan struct{}
	code           int
	took           time.Duration
}

// childReport is one line the child writes: what it saw and whether the
// credentials worked.
type childReport struct {
	Phase         int               `json:"phase"`
	PID           int               `json:"pid"`
	Argv          []string          `json:"argv"`
	AWSARN        string            `json:"aws_arn"`
	AWSErr        string            `json:"aws_err"`
	NomadAccessor string            `json:"nomad_accessor"`
	NomadErr      string            `json:"nomad_err"`
	Env           map[string]string `json:"env"`
	Leaked        []string          `json:"leaked"` // companion-only variables the child could see
}

// childCommand is the command the companion runs: this test binary in
// child mode (see TestCompanionChild), which uses the credentials
// through the AWS SDK's and Nomad api's default configuration.
func childCommand() []string {
	return []string{os.Args[0], "-test.run=^TestCompanionChild$"}
}

// env is the companion's environment: no VAULT_* of the test's, a HOME of
// its own, the child's settings, plus extra.
func (c *ciStack) env(report, mode string, extra ...string) []string {
	home := filepath.Join(c.dir, "home")
	_ = os.MkdirAll(home, 0o700)
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"VAULT_ADDR=" + c.vault.Addr(),
		"AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL_STS=" + c.aws.URL,
		"AWS_EC2_METADATA_DISABLED=true",
		childReportEnv + "=" + report,
		childModeEnv + "=" + mode,
	}, extra...)
}

// start starts cloudcreds with args in env.
func (c *ciStack) start(t *testing.T, env []string, args ...string) *companionRun {
	t.Helper()
	return c.startRaw(t, env, c.bin, args...)
}

// startRaw starts any command in env, recorded like a companion run (a
// shell running the companion, or running a job with what env printed).
func (c *ciStack) startRaw(t *testing.T, env []string, name string, args ...string) *companionRun {
	t.Helper()
	r := &companionRun{cmd: exec.Command(name, args...), done: make(chan struct{})}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, childReportEnv+"="); ok {
			r.report = v
		}
	}
	r.cmd.Env = env
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.cmd.WaitDelay = 5 * time.Second
	began := time.Now()
	require.NoError(t, r.cmd.Start())
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); <-r.done })
	go func() {
		_ = r.cmd.Wait()
		r.took = time.Since(began)
		r.code = r.cmd.ProcessState.ExitCode()
		if ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = 128 + int(ws.Signal())
		}
		close(r.done)
	}()
	c.mu.Lock()
	c.runs = append(c.runs, r)
	c.mu.Unlock()
	return r
}

// run runs cloudcreds to the end (bounded) and returns the run.
func (c *ciStack) run(t *testing.T, env []string, args ...string) *companionRun {
	t.Helper()
	r := c.start(t, env, args...)
	r.wait(t, 2*time.Minute)
	return r
}

func (r *companionRun) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		t.Fatalf("cloudcreds still running after %s; stderr:\n%s", timeout, r.stderr.String())
	}
}

// reports reads the child's report lines; none if it never ran.
func (r *companionRun) reports(t *testing.T) []childReport {
	t.Helper()
	f, err := os.Open(r.report)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []childReport
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rep childReport
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rep))
		out = append(out, rep)
	}
	require.NoError(t, sc.Err())
	return out
}

// waitReport waits until the child has written n report lines.
func (r *companionRun) waitReport(t *testing.T, n int, timeout time.Duration) []childReport {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if reps := r.reports(t); len(reps) >= n {
			return reps
		}
		select {
		case <-r.done:
			t.Fatalf("cloudcreds exited %d before the child reported; stderr:\n%s", r.code, r.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report from the child after %s; stderr:\n%s", timeout, r.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var issuedRE = regexp.MustCompile(`issued (\w+) credential \S+: lease (\S+),`)

// leases returns the lease ids the companion reported, by kind.
func (r *companionRun) leases() map[string]string {
	out := map[string]string{}
	for _, m := range issuedRE.FindAllStringSubmatch(r.stderr.String(), -1) {
		out[m[1]] = m[2]
	}
	return out
}

func (r *companionRun) leaseIDs() []string {
	var ids []string
	for _, id := range r.leases() {
		ids = append(ids, id)
	}
	return ids
}

var accessorRE = regexp.MustCompile(`token accessor (\S+),`)

// loginAccessor is the accessor of the token the companion logged in with.
func (r *companionRun) loginAccessor() string {
	if m := accessorRE.FindStringSubmatch(r.stderr.String()); m != nil {
		return m[1]
	}
	return ""
}

// auditSecrets returns every secret value Vault received or returned so
// far, from the raw audit log: tokens, JWTs, AppRole secret ids, cloud
// keys and their secrets.
func (c *ciStack) auditSecrets(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(c.audit)
	require.NoError(t, err)
	keys := map[string]bool{"access_key": true, "secret_key": true, "session_token": true, "secret_id": true,
		"client_token": true, "jwt": true, "token": true}
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if s, ok := val.(string); ok && keys[k] && len(s) >= 8 {
					seen[s] = true
				}
				walk(val)
			}
		case []any:
			for _, val := range x {
				walk(val)
			}
		}
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var entry map[string]any
		require.NoError(t, json.Unmarshal(line, &entry))
		walk(entry)
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	return out
}

// scanRuns checks that no secret appears in any run's stdout or stderr,
// in the companion's argv, or in the child's argv (Done means 6). It
// returns how many secrets and places were scanned.
func (c *ciStack) scanRuns(t *testing.T, extraSecrets ...string) (secrets, places int) {
	t.Helper()
	all := append(c.auditSecrets(t), extraSecrets...)
	require.NotEmpty(t, all)
	c.mu.Lock()
	runs := append([]*companionRun(nil), c.runs...)
	c.mu.Unlock()
	known := map[string]bool{}
	for _, s := range all {
		known[s] = true
	}
	for i, r := range runs {
		<-r.done
		// The scan is only as good as its list: every secret a child
		// was handed must be on it.
		for _, rep := range r.reports(t) {
			for name, v := range rep.Env {
				if name != "NOMAD_ADDR" {
					require.True(t, known[v], "run %d: the child's %s is not among the audited secrets", i, name)
				}
			}
		}
		texts := map[string]string{
			"stderr": r.stderr.String(), "companion argv": strings.Join(r.cmd.Args, "\x00"),
		}
		// env and credential-process print the credential on stdout:
		// that is their purpose.
		if sub := r.cmd.Args[1]; sub != "env" && sub != "credential-process" {
			texts["stdout"] = r.stdout.String()
		}
		for j, rep := range r.reports(t) {
			texts["child argv "+string(rune('0'+j))] = strings.Join(rep.Argv, "\x00")
		}
		for where, text := range texts {
			places++
			for _, s := range all {
				if strings.Contains(text, s) {
					// Never print the secret itself.
					t.Errorf("run %d (%v): a secret of length %d appears in its %s", i, r.cmd.Args[1:2], len(s), where)
				}
			}
		}
	}
	return len(all), places
}
