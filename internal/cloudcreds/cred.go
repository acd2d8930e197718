package cloudcreds

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind says which cloud a credential is for, and so which environment
// variables carry it to the command.
type Kind string

// The kinds of credential the companion knows.
const (
	KindAWS    Kind = "aws"
	KindNcloud Kind = "ncloud"
	KindNomad  Kind = "nomad"
)

// kinds lists every Kind, for messages.
var kinds = []Kind{KindAWS, KindNcloud, KindNomad}

// Environment variables set for the command. Each cloud's own tools and
// SDKs read these: the AWS CLI and SDKs (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the Ncloud CLI and Terraform
// provider (NCLOUD_ACCESS_KEY, NCLOUD_SECRET_KEY), the Nomad CLI and api
// package (NOMAD_TOKEN, NOMAD_ADDR).
const (
	EnvAWSAccessKey    = "AWS_ACCESS_KEY_ID"
	EnvAWSSecretKey    = "AWS_SECRET_ACCESS_KEY"
	EnvAWSSessionToken = "AWS_SESSION_TOKEN"
	// EnvAWSSecurityToken is the legacy name of AWS_SESSION_TOKEN that
	// some tools still read; it is removed so a stale one cannot win.
	EnvAWSSecurityToken = "AWS_SECURITY_TOKEN"
	EnvNcloudAccessKey  = "NCLOUD_ACCESS_KEY"
	EnvNcloudSecretKey  = "NCLOUD_SECRET_KEY"
	EnvNomadToken       = "NOMAD_TOKEN"
	EnvNomadAddr        = "NOMAD_ADDR"
)

// Spec is one --cred: the kind and the Vault path to read.
type Spec struct {
	// Kind says which variables the credential sets.
	Kind Kind
	// Path is the Vault path to read, e.g. multicloud/creds/aws/deploy.
	Path string
}

// String returns kind=path.
func (s Spec) String() string { return string(s.Kind) + "=" + s.Path }

// ParseSpec parses "kind=path", e.g. "aws=multicloud/creds/aws/deploy".
// A leading "/" or "v1/" of the path is dropped.
func ParseSpec(s string) (Spec, error) {
	kind, path, ok := strings.Cut(s, "=")
	if !ok {
		return Spec{}, fmt.Errorf("--cred %q: want kind=path, e.g. aws=multicloud/creds/aws/deploy", s)
	}
	k := Kind(strings.ToLower(strings.TrimSpace(kind)))
	if !k.valid() {
		return Spec{}, fmt.Errorf("--cred %q: unknown kind %q; valid kinds: %s", s, kind, kindList())
	}
	path = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(path), "/"), "v1/")
	if path == "" || strings.ContainsAny(path, " \t\n?#") || strings.Contains(path, "//") {
		return Spec{}, fmt.Errorf("--cred %q: the path must be a Vault path like multicloud/creds/%s/<role>", s, k)
	}
	return Spec{Kind: k, Path: path}, nil
}

// checkSpecs refuses an empty list and two credentials of one kind (their
// variables would overwrite each other).
func checkSpecs(specs []Spec) error {
	if len(specs) == 0 {
		return fmt.Errorf("no --cred given")
	}
	seen := map[Kind]string{}
	for _, s := range specs {
		if prev, ok := seen[s.Kind]; ok {
			return fmt.Errorf("--cred %s and --cred %s: two %s credentials would set the same variables; use one per kind", prev, s, s.Kind)
		}
		seen[s.Kind] = s.String()
	}
	return nil
}

func (k Kind) valid() bool {
	for _, v := range kinds {
		if k == v {
			return true
		}
	}
	return false
}

func kindList() string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Vars is what a credential does to the command's environment.
type Vars struct {
	// Set holds the variables to set.
	Set map[string]string
	// Unset lists variables to remove (stale values that would mix with
	// the new credential).
	Unset []string
	// Expiry is when the cloud ends the credential by itself, if the
	// credential says so (AWS STS sessions).
	Expiry time.Time
}

// vars maps a credential's data, as the plugin returns it, to variables.
// environ is the command's environment before (NOMAD_ADDR there wins over
// the credential's address: the pipeline may reach Nomad by another name).
func (k Kind) vars(data map[string]any, environ map[string]string) (Vars, error) {
	v := Vars{Set: map[string]string{}}
	// set puts each required field into its variable: pairs are
	// variable, field, variable, field, ...
	set := func(pairs ...string) error {
		for i := 0; i+1 < len(pairs); i += 2 {
			s, _ := data[pairs[i+1]].(string)
			if s == "" {
				return fmt.Errorf("the data has no %q field (fields: %s); is it a credential of kind %s?", pairs[i+1], fieldList(data), k)
			}
			v.Set[pairs[i]] = s
		}
		return nil
	}
	switch k {
	case KindAWS:
		if err := set(EnvAWSAccessKey, "access_key", EnvAWSSecretKey, "secret_key"); err != nil {
			return Vars{}, err
		}
		if tok, _ := data["session_token"].(string); tok != "" {
			v.Set[EnvAWSSessionToken] = tok
		} else {
			v.Unset = append(v.Unset, EnvAWSSessionToken)
		}
		v.Unset = append(v.Unset, EnvAWSSecurityToken)
		if exp, _ := data["expiration"].(string); exp != "" {
			if t, err := time.Parse(time.RFC3339, exp); err == nil {
				v.Expiry = t
			}
		}
	case KindNcloud:
		if err := set(EnvNcloudAccessKey, "access_key", EnvNcloudSecretKey, "secret_key"); err != nil {
			return Vars{}, err
		}
	case KindNomad:
		if err := set(EnvNomadToken, "secret_id"); err != nil {
			return Vars{}, err
		}
		if addr, _ := data["address"].(string); addr != "" && environ[EnvNomadAddr] == "" {
			v.Set[EnvNomadAddr] = addr
		}
	default:
		return Vars{}, fmt.Errorf("unknown kind %q", k)
	}
	return v, nil
}

// secretValues returns the values of Set that are secret (everything but
// NOMAD_ADDR), for redaction.
func (v Vars) secretValues() []string {
	var out []string
	for name, val := range v.Set {
		if name != EnvNomadAddr {
			out = append(out, val)
		}
	}
	return out
}

func fieldList(data map[string]any) string {
	names := make([]string, 0, len(data))
	for n := range data {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// mergeEnv applies vars to environ (KEY=value lines) and returns the result,
// sorted by name so the order does not depend on map iteration.
func mergeEnv(environ []string, all []Vars, drop []string) []string {
	m := envMap(environ)
	for _, d := range drop {
		delete(m, d)
	}
	for _, v := range all {
		for _, u := range v.Unset {
			delete(m, u)
		}
	}
	for _, v := range all {
		for name, val := range v.Set {
			m[name] = val
		}
	}
	out := make([]string, 0, len(m))
	for name, val := range m {
		out = append(out, name+"="+val)
	}
	sort.Strings(out)
	return out
}

// envMap turns KEY=value lines into a map; a later line wins.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if name, val, ok := strings.Cut(kv, "="); ok && name != "" {
			m[name] = val
		}
	}
	return m
}
