package providers_test

import (
	"encoding/json"
	"errors"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
)

// nameTemplates says where each driver takes the template of the names
// it gives cloud objects. The fuzz target goes through the backend's API
// only, so when the drivers move to Vault's sdk/helper/template it is
// retargeted here: new field names, and seeds in the new syntax.
var nameTemplates = []struct {
	cloud string
	where string // "config" or "role"
	field string
	seeds []string
}{
	{"aws", "config", "username_template", []string{
		"vault-{{display_name:20}}-{{role:20}}-{{id}}", "{{id}}", "{{instance}}.{{role:3}}+{{unix_time}}={{id}}@x",
		"{{id}}-{{display_name}}-{{display_name}}", "{{id:5}}", "{{nope}}{{id}}", "{{id}}{{role:-1}}", strings.Repeat("x", 70) + "{{id}}"}},
	{"ncloud", "role", "login_id_template", []string{
		"vault-{{.Role}}-{{.ID}}", "{{.ID}}", "{{.DisplayName}}{{.DisplayName}}{{.ID}}", "9{{.ID}}", "{{.Nope}}{{.ID}}",
		"{{if .Role}}{{.ID}}{{end}}", `{{printf "%s" .ID}}`, "{{.ID}}{{template \"x\"}}"}},
	{"nomad", "config", "token_name_template", []string{
		"vault-{{.RoleName}}-{{.DisplayName}}-{{.ID}}", "{{.ID}}", "{{.ID | truncate 5}}", "{{truncate 3 .DisplayName}}{{.ID}}",
		"{{lowercase .Instance}}{{.ID}}{{.UnixTime}}", `{{replace "-" "_" .ID}}`, "{{.ID}}{{range $i := .ID}}{{end}}"}},
}

// roleNameRE is the role name a path accepts (framework.GenericNameRegex).
var roleNameRE = regexp.MustCompile(`^\w(([\w.-]+)?\w)?$`)

// FuzzNameTemplate writes an arbitrary name template to the field a driver
// takes it from, then issues a credential with an arbitrary role and token
// display name, through the backend and the driver against its emulated
// cloud, which enforces the cloud's naming rules. A template is either
// refused when written, with a 400 that names the field, or every name it
// renders is one the cloud accepts: the issuance succeeds, or is refused
// with a 400 naming a field (e.g. a role name too long for the template),
// never a cloud error. Nothing is left in the cloud after the revoke.
func FuzzNameTemplate(f *testing.F) {
	for i, nt := range nameTemplates {
		for _, s := range nt.seeds {
			f.Add(uint8(i), s, "ci", "token-ci")
			f.Add(uint8(i), s, "a.role-with_every-char", strings.Repeat("DisplayName With Spaces/Ünicode", 4))
		}
	}
	fc := startFuzzClouds(f)
	f.Fuzz(func(t *testing.T, which uint8, tmpl, role, display string) {
		nt := nameTemplates[int(which)%len(nameTemplates)]
		if !roleNameRE.MatchString(role) || len(role) > 128 {
			role = "r"
		}
		var cl *fuzzCloud
		for _, c := range fc.all {
			if c.name == nt.cloud {
				cl = c
			}
		}
		b := fc.backend(t, plugintest.WithDisplayName(display))
		before := maps.Clone(cl.state())

		configData, roleData := maps.Clone(cl.config), maps.Clone(cl.role)
		if nt.where == "config" {
			configData[nt.field] = tmpl
		} else {
			roleData[nt.field] = tmpl
		}
		for _, w := range []struct {
			path string
			data map[string]any
		}{{"config/" + cl.name, configData}, {"roles/" + cl.name + "/" + role, roleData}} {
			resp, err, _ := do(b, &logical.Request{Operation: logical.UpdateOperation, Path: w.path, Data: w.data})
			fc.requireNoRoot(t, resp, err)
			if refusedNaming(t, resp, err, nt.field, "name", "role") {
				return
			}
		}

		resp, err, took := do(b, &logical.Request{Operation: logical.ReadOperation, Path: "creds/" + cl.name + "/" + role, DisplayName: display})
		fc.requireNoRoot(t, resp, err)
		if took > fuzzCall {
			t.Fatalf("issuing took %s", took)
		}
		if err != nil {
			t.Fatalf("template %q (role %q, display name %q) was accepted but issuing failed: %v", tmpl, role, display, err)
		}
		if resp.IsError() {
			if !refusedNaming(t, resp, nil, nt.field, "name", "role") {
				t.Fatalf("unreachable")
			}
			if !maps.Equal(before, cl.state()) {
				t.Fatalf("a refused issuance changed the cloud: %v -> %v", before, cl.state())
			}
			return
		}
		if resp.Secret == nil {
			t.Fatalf("issuing answered no lease")
		}
		buf, _ := json.Marshal(resp.Secret)
		var s logical.Secret
		if err := json.Unmarshal(buf, &s); err != nil {
			t.Fatal(err)
		}
		rresp, rerr, _ := do(b, &logical.Request{Operation: logical.RevokeOperation, Secret: &s})
		if rerr != nil || (rresp != nil && rresp.IsError()) {
			t.Fatalf("revoke failed: %v %v", rerr, rresp)
		}
		if !maps.Equal(before, cl.state()) {
			t.Fatalf("something is left in the cloud after the revoke: %v -> %v", before, cl.state())
		}
	})
}

// refusedNaming reports whether a write was refused; a refusal must be a
// 400 whose message names one of the fields, anything else fails t.
func refusedNaming(t *testing.T, resp *logical.Response, err error, fields ...string) bool {
	t.Helper()
	if err != nil {
		var ce logical.HTTPCodedError
		if errors.As(err, &ce) && ce.Code() < 500 {
			return true
		}
		t.Fatalf("refused with a 5xx or an uncoded error: %v", err)
	}
	if resp == nil || !resp.IsError() {
		return false
	}
	msg := resp.Error().Error()
	for _, f := range fields {
		if strings.Contains(msg, f) {
			return true
		}
	}
	t.Fatalf("a 400 that names none of %v: %q", fields, msg)
	return true
}
