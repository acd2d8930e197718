package nomad

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// aclNameRE is Nomad's rule for ACL policy and role names.
var aclNameRE = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

// roleSpec is a role's typed fields.
type roleSpec struct {
	typ           string
	policies      []string
	roles         []string
	global        bool
	expirationTTL time.Duration
}

// parseRole checks a role's fields without calling Nomad.
func parseRole(v providers.Values) (*roleSpec, error) {
	r := &roleSpec{
		typ:           v.String(fieldType),
		policies:      v.Strings(fieldPolicies),
		roles:         v.Strings(fieldRoles),
		global:        v.Bool(fieldGlobal),
		expirationTTL: v.Duration(fieldExpirationTTL),
	}
	if r.typ == "" {
		r.typ = typeClient
	}
	switch r.typ {
	case typeClient:
		if len(r.policies) == 0 && len(r.roles) == 0 {
			return nil, providers.InvalidField(fieldPolicies, "a client token role needs at least one Nomad policy (policies) or ACL role (roles); a token with neither can do nothing")
		}
	case typeManagement:
		if len(r.policies) > 0 {
			return nil, providers.InvalidField(fieldPolicies, "must be empty for type management: a management token has every permission and Nomad refuses policies on it")
		}
		if len(r.roles) > 0 {
			return nil, providers.InvalidField(fieldRoles, "must be empty for type management: a management token has every permission and Nomad refuses ACL roles on it")
		}
	default:
		return nil, providers.InvalidField(fieldType, "must be %s or %s, got %q", typeClient, typeManagement, r.typ)
	}
	for _, list := range []struct {
		field string
		names []string
	}{{fieldPolicies, r.policies}, {fieldRoles, r.roles}} {
		for _, n := range list.names {
			if !aclNameRE.MatchString(n) {
				return nil, providers.InvalidField(list.field, "%q is not a valid Nomad name (%s)", n, aclNameRE)
			}
		}
	}
	if r.expirationTTL < 0 {
		return nil, providers.InvalidField(fieldExpirationTTL, "must not be negative")
	}
	return r, nil
}

// ValidateRole implements providers.Provider: the fields' rules, the role
// name against the token name template, that a global role can find the
// authoritative region, and that every named policy and ACL role exists
// in Nomad (Nomad accepts unknown policy names on a token, which then
// silently grants nothing), read in the region the tokens will live in.
func (p *provider) ValidateRole(ctx context.Context, req providers.ValidateRoleRequest) error {
	if req.CredentialType != CredentialToken {
		return unknownType(req.CredentialType)
	}
	r, err := parseRole(req.Values)
	if err != nil {
		return err
	}
	if err := p.s.names.CheckRole(req.Role); err != nil {
		return err
	}
	region, _, err := p.home(ctx, r.global)
	if err != nil {
		return err
	}
	q := p.queryOpts(ctx, region)
	for _, name := range r.policies {
		if err := p.s.retry.retry(ctx, func() error { _, _, err := p.client.ACLPolicies().Info(name, q); return err }); err != nil {
			if code, _ := apiStatus(err); code == http.StatusNotFound {
				return providers.InvalidField(fieldPolicies, "Nomad has no ACL policy %q; create it first (nomad acl policy apply)", name)
			}
			return cloudErr("ReadPolicy", fmt.Errorf("policy %s: %w", name, err))
		}
	}
	for _, name := range r.roles {
		if err := p.s.retry.retry(ctx, func() error { _, _, err := p.client.ACLRoles().GetByName(name, q); return err }); err != nil {
			if code, _ := apiStatus(err); code == http.StatusNotFound {
				return providers.InvalidField(fieldRoles, "Nomad has no ACL role %q; create it first (nomad acl role create)", name)
			}
			return cloudErr("ReadRoleByName", fmt.Errorf("role %s: %w", name, err))
		}
	}
	return nil
}
