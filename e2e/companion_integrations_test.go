package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
)

// actionFile is the part of action.yml a composite action runner reads.
type actionFile struct {
	Name   string `yaml:"name"`
	Inputs map[string]struct {
		Required bool   `yaml:"required"`
		Default  string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID    string            `yaml:"id"`
			Shell string            `yaml:"shell"`
			Run   string            `yaml:"run"`
			Uses  string            `yaml:"uses"`
			Env   map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

var expressionRE = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// runActionSteps runs the composite action's steps as GitHub's runner
// does for `shell: bash` (bash --noprofile --norc -eo pipefail <file>,
// GITHUB_OUTPUT read back into steps.<id>.outputs), with the expressions
// the action uses resolved. It returns the last step's exit status.
func runActionSteps(t *testing.T, c *ciStack, a *actionFile, inputs map[string]string, base []string) (int, *companionRun) {
	t.Helper()
	root := vaulttest.RepoRoot(t)
	runnerTemp := t.TempDir()
	outputs := map[string]map[string]string{}
	resolve := func(expr string) string {
		switch {
		case expr == "github.action_path":
			return root
		case strings.HasPrefix(expr, "inputs."):
			name := strings.TrimPrefix(expr, "inputs.")
			in, ok := a.Inputs[name]
			require.True(t, ok, "undeclared input %s", name)
			if v, ok := inputs[name]; ok {
				return v
			}
			require.False(t, in.Required, "required input %s not given", name)
			return in.Default
		case strings.HasPrefix(expr, "steps."):
			parts := strings.Split(expr, ".")
			require.Len(t, parts, 4, expr)
			return outputs[parts[1]][parts[3]]
		}
		t.Fatalf("expression %q is not one this runner knows", expr)
		return ""
	}
	var last *companionRun
	for i, step := range a.Runs.Steps {
		require.Empty(t, step.Uses, "step %d: the action needs no other action", i)
		require.Equal(t, "bash", step.Shell)
		require.NotRegexp(t, expressionRE, step.Run, "step %d: expressions go through env:, never into the script", i)
		env := append([]string{}, base...)
		outFile := filepath.Join(runnerTemp, "output-"+step.ID)
		env = append(env, "RUNNER_TEMP="+runnerTemp, "GITHUB_OUTPUT="+outFile, "GITHUB_ENV="+filepath.Join(runnerTemp, "env"))
		for k, v := range step.Env {
			env = append(env, k+"="+expressionRE.ReplaceAllStringFunc(v, func(m string) string {
				return resolve(expressionRE.FindStringSubmatch(m)[1])
			}))
		}
		script := filepath.Join(runnerTemp, "step-"+step.ID+".sh")
		require.NoError(t, os.WriteFile(script, []byte(step.Run), 0o600))
		r := c.startRaw(t, env, "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		r.wait(t, 3*time.Minute)
		last = r
		if r.code != 0 {
			return r.code, r
		}
		outputs[step.ID] = readOutputs(t, outFile)
	}
	return 0, last
}

func readOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out
	}
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out
}

// goEnv passes the Go settings through, so the action's build step uses
// this machine's module and build caches (no network here).
func goEnv(t *testing.T) []string {
	t.Helper()
	var env []string
	for _, name := range []string{"GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN"} {
		out, err := exec.Command("go", "env", name).Output()
		require.NoError(t, err)
		env = append(env, name+"="+strings.TrimSpace(string(out)))
	}
	return env
}

// TestCompanionGitHubAction: the composite action in action.yml, its
// steps run as GitHub's runner runs them: it builds cloudcreds from the
// action's source, logs in with the job's OIDC token (from a stand-in of
// GitHub's endpoint), runs the `run` input with the credentials, revokes
// them, and passes the command's status through.
func TestCompanionGitHubAction(t *testing.T) {
	c := newCIStack(t)
	j := newJWTIssuer(t)
	enableJWT(t, c, "jwt", githubIssuer, j, "deploy", map[string]any{
		"bound_claims": map[string]any{"repository": "org/app"}})
	gh := newGitHubStandIn(t, j, "org/app")
	raw, err := os.ReadFile(filepath.Join(vaulttest.RepoRoot(t), "action.yml"))
	require.NoError(t, err)
	var a actionFile
	require.NoError(t, yaml.Unmarshal(raw, &a))
	require.Equal(t, "composite", a.Runs.Using)

	for _, tc := range []struct {
		name string
		run  string
		want int
	}{
		{name: "job succeeds", run: `"$E2E_CHILD" -test.run='^TestCompanionChild$'` + "\necho job done", want: 0},
		{name: "job fails", run: `"$E2E_CHILD" -test.run='^TestCompanionChild$'` + "\nexit 3", want: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.cloudCounts()
			report := filepath.Join(t.TempDir(), "report")
			base := append(c.env(report, "exit:0", "E2E_CHILD="+os.Args[0],
				"ACTIONS_ID_TOKEN_REQUEST_URL="+gh.srv.URL+"/idtoken?api-version=2.0",
				"ACTIONS_ID_TOKEN_REQUEST_TOKEN="+gh.requestToken), goEnv(t)...)
			code, last := runActionSteps(t, c, &a, map[string]string{
				"vault-addr": c.vault.Addr(),
				"role":       "deploy",
				"audience":   vaultAud,
				"creds":      "# the job's clouds\naws=" + mount + "/creds/aws/ci\n\n  nomad=" + mount + "/creds/nomad/ci  \n",
				"run":        tc.run,
			}, base)
			require.Equal(t, tc.want, code, last.stderr.String())
			reps := last.reports(t)
			require.Len(t, reps, 1)
			requireChildUsedBoth(t, c, reps[0])
			require.Len(t, last.leaseIDs(), 2)
			c.requireRevoked(t, last.leaseIDs())
			requireTokenRevoked(t, c, last.loginAccessor())
			c.requireBaseline(t, before, tc.name)
			if tc.want == 0 {
				require.Contains(t, last.stdout.String(), "job done")
			}
		})
	}
	t.Run("secret scan", func(t *testing.T) {
		secrets, places := c.scanRuns(t, gh.requestToken)
		t.Logf("scanned %d places for %d secrets", places, secrets)
	})
}

// gitlabTemplate is the part of the template a GitLab runner reads.
type gitlabTemplate map[string]struct {
	IDTokens map[string]struct {
		Aud string `yaml:"aud"`
	} `yaml:"id_tokens"`
	Variables    map[string]string `yaml:"variables"`
	BeforeScript []string          `yaml:"before_script"`
}

// TestCompanionGitLabTemplate: a job extending .cloudcreds from
// integrations/gitlab/cloudcreds.gitlab-ci.yml, run as a GitLab runner
// runs it: the id_token (signed for the template's aud, expanded) in the
// variable the template names, the template's and the job's variables,
// before_script and script in one bash -eo pipefail shell. cloudcreds is
// on PATH (as in an image with it baked in), so before_script's install
// branch is not taken here.
func TestCompanionGitLabTemplate(t *testing.T) {
	c := newCIStack(t)
	j := newJWTIssuer(t)
	raw, err := os.ReadFile(filepath.Join(vaulttest.RepoRoot(t), "integrations", "gitlab", "cloudcreds.gitlab-ci.yml"))
	require.NoError(t, err)
	var tpl gitlabTemplate
	require.NoError(t, yaml.Unmarshal(raw, &tpl))
	job, ok := tpl[".cloudcreds"]
	require.True(t, ok, "the template defines .cloudcreds")
	require.Len(t, job.IDTokens, 1)

	jobVars := map[string]string{"VAULT_ADDR": c.vault.Addr(), "CLOUDCREDS_ROLE": "ci", "CI_PROJECT_DIR": t.TempDir()}
	vars := map[string]string{}
	for k, v := range job.Variables {
		vars[k] = v
	}
	for k, v := range jobVars {
		vars[k] = v
	}
	// The Vault side, as docs/ci.md sets it up: audience = VAULT_ADDR.
	enableJWT(t, c, vars["CLOUDCREDS_AUTH_MOUNT"], gitlabIssuer, j, "ci", map[string]any{
		"bound_audiences": []string{c.vault.Addr()},
		"bound_claims":    map[string]any{"project_path": "group/app", "ref_protected": "true"}})

	env := c.env(filepath.Join(t.TempDir(), "report"), "exit:0")
	env[0] = "PATH=" + filepath.Dir(c.bin) + ":" + os.Getenv("PATH")
	for name, tok := range job.IDTokens {
		aud := os.Expand(tok.Aud, func(k string) string { return vars[k] })
		require.Equal(t, c.vault.Addr(), aud)
		claims := gitlabClaims("group/app")
		claims["aud"] = aud
		env = append(env, name+"="+j.sign(t, claims))
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	script := append(append([]string{}, job.BeforeScript...),
		`cloudcreds exec --cred aws=`+mount+`/creds/aws/ci --cred nomad=`+mount+`/creds/nomad/ci -- "$E2E_CHILD" -test.run='^TestCompanionChild$'`)
	env = append(env, "E2E_CHILD="+os.Args[0])
	before := c.cloudCounts()
	r := c.startRaw(t, env, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", strings.Join(script, "\n"))
	r.wait(t, 2*time.Minute)
	require.Equal(t, 0, r.code, r.stderr.String())
	require.Contains(t, r.stdout.String(), "cloudcreds v", "before_script ran")
	reps := r.reports(t)
	require.Len(t, reps, 1)
	requireChildUsedBoth(t, c, reps[0])
	require.Contains(t, r.stderr.String(), "JWT from $CLOUDCREDS_ID_TOKEN")
	c.requireRevoked(t, r.leaseIDs())
	requireTokenRevoked(t, c, r.loginAccessor())
	c.requireBaseline(t, before, "gitlab")
	secrets, places := c.scanRuns(t)
	t.Logf("scanned %d places for %d secrets", places, secrets)
}
