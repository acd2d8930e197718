package cloudcreds

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// EnvLeases is the variable `env` exports with the lease ids and
// `revoke` reads.
const EnvLeases = "CLOUDCREDS_LEASES"

// runEnv is `cloudcreds env`: it prints export lines for a shell to eval.
// This is the one place the companion prints secrets, on stdout, because
// that is its purpose. Nothing renews the leases afterwards: they end at
// their TTL, or at the login token's, or when `cloudcreds revoke` runs.
func (a *app) runEnv(ctx context.Context, r *relay, specs []Spec, lo LoginOptions) int {
	c, err := a.newClient()
	if err != nil {
		return a.fail(err)
	}
	s, err := a.login(ctx, c, lo)
	if err != nil {
		return a.setupFailed(r, nil, nil, err)
	}
	leases, err := a.issue(ctx, s, specs, envMap(a.environ))
	if err != nil || ctx.Err() != nil {
		return a.setupFailed(r, s, leases, err)
	}
	var b strings.Builder
	ids := make([]string, len(leases))
	for i, l := range leases {
		ids[i] = l.id
		names := make([]string, 0, len(l.vars.Set))
		for n := range l.vars.Set {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "export %s=%s\n", n, shellQuote(l.vars.Set[n]))
		}
		for _, n := range l.vars.Unset {
			fmt.Fprintf(&b, "unset %s\n", n)
		}
	}
	fmt.Fprintf(&b, "export %s=%s\n", EnvLeases, shellQuote(strings.Join(ids, " ")))
	if s.owned {
		fmt.Fprintf(&b, "export %s=%s\n", EnvVaultToken, shellQuote(s.client.Token()))
	}
	if _, err := fmt.Fprint(a.stdout, b.String()); err != nil {
		return a.setupFailed(r, s, leases, failf(ExitInternal, "writing the export lines: %v", err))
	}
	end := earliest(leaseEnds(leases)...)
	if exp := s.expiry(); s.owned && !exp.IsZero() {
		end = earliest(end, exp)
		a.log.infof("the login token expires at %s and takes the credentials with it", stamp(exp))
	}
	a.log.infof("not renewed: the credentials end by %s at the latest; `cloudcreds revoke` ends them now", stamp(end))
	return 0
}

// runRevoke is `cloudcreds revoke [lease-id ...]`: it revokes the leases
// (by default those in CLOUDCREDS_LEASES) and the login token in
// CLOUDCREDS_VAULT_TOKEN, which `env` printed.
func (a *app) runRevoke(ctx context.Context, r *relay, ids []string, lo LoginOptions) int {
	if len(ids) == 0 {
		ids = strings.Fields(a.getenv(EnvLeases))
	}
	c, err := a.newClient()
	if err != nil {
		return a.fail(err)
	}
	var s *session
	if tok := a.getenv(EnvVaultToken); tok != "" {
		a.log.redact(tok)
		c.SetToken(tok)
		if s, err = a.tokenSession(ctx, c); err != nil {
			return a.fail(err)
		}
		s.owned = true
	} else {
		if len(ids) == 0 {
			return a.fail(failf(ExitUsage, "revoke: no lease ids given and %s and %s are empty", EnvLeases, EnvVaultToken))
		}
		if s, err = a.login(ctx, c, lo); err != nil {
			return a.fail(err)
		}
	}
	leases := make([]*lease, len(ids))
	for i, id := range ids {
		leases[i] = &lease{id: id}
	}
	if err := a.cleanup(s, leases); err != nil {
		return a.fail(err)
	}
	return 0
}

// processCredentials is the JSON an AWS credential_process prints
// (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html;
// aws-sdk-go-v2 credentials/processcreds.CredentialProcessResponse).
type processCredentials struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken,omitempty"`
	Expiration      string `json:"Expiration"`
}

// runCredentialProcess is `cloudcreds credential-process --cred <path>`:
// one AWS credential as credential_process JSON on stdout. Like env, it
// prints a secret because that is its purpose. Expiration is when the
// lease (or the login token, which takes the lease with it, or the STS
// session) ends, so the SDK asks again before that.
func (a *app) runCredentialProcess(ctx context.Context, r *relay, spec Spec, lo LoginOptions) int {
	if spec.Kind != KindAWS {
		return a.fail(failf(ExitUsage, "credential-process: --cred %s: only aws credentials have a credential_process form", spec))
	}
	c, err := a.newClient()
	if err != nil {
		return a.fail(err)
	}
	s, err := a.login(ctx, c, lo)
	if err != nil {
		return a.setupFailed(r, nil, nil, err)
	}
	leases, err := a.issue(ctx, s, []Spec{spec}, map[string]string{})
	if err != nil || ctx.Err() != nil {
		return a.setupFailed(r, s, leases, err)
	}
	l := leases[0]
	end := earliest(l.expiry(), l.vars.Expiry)
	if s.owned {
		end = earliest(end, s.expiry())
	}
	out, err := json.Marshal(processCredentials{
		Version:         1,
		AccessKeyID:     l.vars.Set[EnvAWSAccessKey],
		SecretAccessKey: l.vars.Set[EnvAWSSecretKey],
		SessionToken:    l.vars.Set[EnvAWSSessionToken],
		Expiration:      end.UTC().Format(time.RFC3339),
	})
	if err == nil {
		_, err = fmt.Fprintf(a.stdout, "%s\n", out)
	}
	if err != nil {
		return a.setupFailed(r, s, leases, failf(ExitInternal, "writing the credential: %v", err))
	}
	return 0
}

func leaseEnds(leases []*lease) []time.Time {
	out := make([]time.Time, 0, 2*len(leases))
	for _, l := range leases {
		out = append(out, l.expiry(), l.vars.Expiry)
	}
	return out
}

// earliest returns the earliest non-zero time, or zero.
func earliest(ts ...time.Time) time.Time {
	var min time.Time
	for _, t := range ts {
		if !t.IsZero() && (min.IsZero() || t.Before(min)) {
			min = t
		}
	}
	return min
}

// shellQuote quotes s for POSIX shells: in single quotes, each single
// quote inside closed, escaped with a backslash and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
