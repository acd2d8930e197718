package nomadtest

import "net/http"

// authKind is the outcome of resolving a request's secret, as Nomad's
// Authenticator.Authenticate classifies it.
type authKind int

const (
	authToken     authKind = iota // a live token
	authAnonymous                 // no secret: the anonymous token
	authInvalid                   // not a UUID (and not a workload identity)
	authNotFound                  // unknown UUID
	authExpired                   // known but expired
)

// caller is the resolved identity of one request.
type caller struct {
	kind   authKind
	token  *aclToken // the token for authToken and authAnonymous
	secret string
}

func anonymousToken() *aclToken {
	return &aclToken{
		AccessorID: anonymousAccessor,
		Name:       anonymousTokenName,
		Type:       typeClient,
		Policies:   []string{anonymousPolicyName},
	}
}

// authenticateLocked resolves the request's X-Nomad-Token or bearer secret
// in the region that handles the request.
func (s *Server) authenticateLocked(r *http.Request) caller {
	return s.authenticateIn(s.regionLocked(r), r)
}

// authenticateIn resolves the request's secret in region rg's tokens.
func (s *Server) authenticateIn(rg *regionState, r *http.Request) caller {
	secret := parseToken(r)
	switch {
	case secret == "":
		return caller{kind: authAnonymous, token: anonymousToken()}
	case !isUUID(secret):
		return caller{kind: authInvalid, secret: secret}
	}
	acc, ok := rg.secrets[secret]
	if !ok {
		return caller{kind: authNotFound, secret: secret}
	}
	t := rg.tokens[acc]
	if t.expired(s.now()) {
		return caller{kind: authExpired, secret: secret}
	}
	return caller{kind: authToken, token: t, secret: secret}
}

func (c caller) authenticated() bool { return c.kind == authToken || c.kind == authAnonymous }

func (c caller) isManagement() bool { return c.kind == authToken && c.token.Type == typeManagement }

// requireManagement is the check of every write and of the token list: any
// authentication failure and any non-management token is 403.
func (s *Server) requireManagement(r *http.Request) *codedError {
	return s.requireManagementIn(s.regionLocked(r), r)
}

// requireManagementIn is requireManagement in region rg.
func (s *Server) requireManagementIn(rg *regionState, r *http.Request) *codedError {
	if !s.authenticateIn(rg, r).isManagement() {
		return errDenied
	}
	return nil
}

// policySetLocked is the set of policy names a caller may read: its own
// policies plus those of its (still existing) roles.
func (s *Server) policySetLocked(c caller) map[string]bool {
	set := map[string]bool{}
	if c.token == nil {
		return set
	}
	for _, p := range c.token.Policies {
		set[p] = true
	}
	for _, l := range c.token.Roles {
		if role, ok := s.roles[l.ID]; ok {
			for _, p := range role.Policies {
				set[p.Name] = true
			}
		}
	}
	return set
}

// hasRoleLocked reports whether the caller's token links the role.
func hasRoleLocked(c caller, roleID string) bool {
	if c.token == nil {
		return false
	}
	for _, l := range c.token.Roles {
		if l.ID == roleID {
			return true
		}
	}
	return false
}
