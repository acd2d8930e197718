// Package nomadtest is a wire-faithful emulator of Nomad's ACL HTTP API
// (tokens, policies, roles, bootstrap), written from Nomad's documentation
// and the notes in docs/reference/nomad-acl.md. It answers with Nomad's
// status codes, text/plain error bodies, X-Nomad-* headers and JSON shapes,
// so the real github.com/hashicorp/nomad/api client can drive it.
//
// It also serves GET /v1/agent/self (the agent's region and ACL
// authoritative region) and emulates a federation of regions with ACL
// replication lag (see region.go).
//
// Fault injection, call counts and the /_emulator admin endpoints come from
// internal/emulator. Faults map to Nomad's answers: Throttle is the 429
// Nomad's HTTP server sends when it rate limits a client (see
// writeThrottled), ServerError is 500 "No cluster leader", Drop closes the
// connection. None of them lets the request take effect.
package nomadtest

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// Options configure a Server.
type Options struct {
	// Bootstrapped, when nil or true, starts the server with a bootstrap
	// management token (see RootToken); when false, /v1/acl/bootstrap
	// works once.
	Bootstrapped *bool
	// MinExpirationTTL is acl.token_min_expiration_ttl (default 1m).
	MinExpirationTTL time.Duration
	// MaxExpirationTTL is acl.token_max_expiration_ttl (default 24h).
	MaxExpirationTTL time.Duration
	// RequireClientCert makes StartTLS require and verify a client
	// certificate (Nomad's tls.verify_https_client). New ignores it.
	RequireClientCert bool

	// Regions are the federation's regions (default: "global" alone).
	Regions []string
	// LocalRegion is the region of the agent the server stands for:
	// requests without a region parameter go there (default: the first
	// of Regions).
	LocalRegion string
	// AuthoritativeRegion is the agent's server.authoritative_region as
	// /v1/agent/self shows it. Empty means unset, and Nomad then treats
	// the agent's own region as authoritative.
	AuthoritativeRegion string
	// ReplicationLag is how long a global token write in the
	// authoritative region takes to reach the other regions (by the
	// server's clock, see SetClock).
	ReplicationLag time.Duration
	// ClientAgent makes the agent a Nomad client, not a server: its
	// /v1/agent/self shows server.enabled false.
	ClientAgent bool
	// Datacenter is the agent's datacenter (default "dc1").
	Datacenter string
}

// Token is a read-only snapshot of a stored ACL token, without its secret.
type Token struct {
	// AccessorID is the token's public ID.
	AccessorID string
	// Name is the token's human-friendly name.
	Name string
	// Type is "client" or "management".
	Type string
	// Policies are the policy names linked directly to the token.
	Policies []string
	// Roles are the current names of the ACL roles linked to the token.
	Roles []string
	// Global reports whether the token is replicated to all regions.
	Global bool
	// ExpirationTime is when the token stops authenticating; zero if never.
	ExpirationTime time.Time
	// CreateTime is when the token was created.
	CreateTime time.Time
}

// Server is the emulated Nomad ACL API; it is an http.Handler and safe for
// concurrent use.
type Server struct {
	core  *emulator.Core
	admin http.Handler

	bootstrapped bool
	minTTL       time.Duration
	maxTTL       time.Duration

	regionNames         []string
	local               string // the agent's region
	authoritative       string // the effective ACL authoritative region
	configuredAuthority string // server.authoritative_region as configured
	lag                 time.Duration
	clientAgent         bool
	datacenter          string

	mu             sync.Mutex
	now            func() time.Time
	index          uint64 // raft index, bumped by every write
	policyIndex    uint64
	roleIndex      uint64
	bootstrapIndex uint64 // 0 until bootstrapped
	regions        map[string]*regionState
	policies       map[string]*aclPolicy
	roles          map[string]*aclRole
	rootAccessor   string // fixture bootstrap token, kept across resets
	rootSecret     string
	bootSecret     string // secret of the bootstrap token, "" before bootstrap
}

// New returns a Server. When opts.Bootstrapped is nil or true it already
// holds a bootstrap management token.
func New(opts Options) *Server {
	s := &Server{
		core:         emulator.NewCore(),
		bootstrapped: opts.Bootstrapped == nil || *opts.Bootstrapped,
		minTTL:       opts.MinExpirationTTL,
		maxTTL:       opts.MaxExpirationTTL,
		now:          time.Now,
		rootAccessor: newUUID(),
		rootSecret:   newUUID(),
	}
	if s.minTTL <= 0 {
		s.minTTL = defaultMinExpirationTTL
	}
	if s.maxTTL <= 0 {
		s.maxTTL = defaultMaxExpirationTTL
	}
	s.regionNames = slices.Clone(opts.Regions)
	if len(s.regionNames) == 0 {
		s.regionNames = []string{defaultRegion}
	}
	s.local = opts.LocalRegion
	if s.local == "" {
		s.local = s.regionNames[0]
	}
	if !slices.Contains(s.regionNames, s.local) {
		s.regionNames = append(s.regionNames, s.local)
	}
	s.configuredAuthority = opts.AuthoritativeRegion
	s.authoritative = opts.AuthoritativeRegion
	if s.authoritative == "" {
		s.authoritative = s.local
	}
	if !slices.Contains(s.regionNames, s.authoritative) {
		s.regionNames = append(s.regionNames, s.authoritative)
	}
	s.lag = opts.ReplicationLag
	s.clientAgent = opts.ClientAgent
	s.datacenter = opts.Datacenter
	if s.datacenter == "" {
		s.datacenter = "dc1"
	}
	s.admin = s.core.AdminHandler(s.State, s.reset)
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
	return s
}

// reset restores the fixtures (the admin endpoint's POST reset).
func (s *Server) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.index, s.policyIndex, s.roleIndex, s.bootstrapIndex = 0, 0, 0, 0
	s.regions = map[string]*regionState{}
	for _, name := range s.regionNames {
		s.regions[name] = newRegionState(name)
	}
	s.policies = map[string]*aclPolicy{}
	s.roles = map[string]*aclRole{}
	s.bootSecret = ""
	if s.bootstrapped {
		s.bootstrapLocked(s.rootAccessor, s.rootSecret)
	}
}

// bootstrapLocked stores the bootstrap management token, a global token,
// in the authoritative region. The fixture token (at New and reset) is
// in every region at once, as in a federation whose replication has run.
func (s *Server) bootstrapLocked(accessor, secret string) *aclToken {
	t := &aclToken{
		AccessorID: accessor,
		SecretID:   secret,
		Name:       bootstrapTokenName,
		Type:       typeManagement,
		Global:     true,
		CreateTime: s.now().UTC(),
	}
	t.setHash()
	s.index++
	t.CreateIndex, t.ModifyIndex = s.index, s.index
	s.bootstrapIndex = s.index
	if accessor == s.rootAccessor {
		for _, rg := range s.regions {
			rg.put(t.clone(), s.index)
		}
	} else {
		s.regions[s.authoritative].put(t, s.index)
		s.replicateLocked(t, t.AccessorID)
	}
	s.bootSecret = secret
	return t
}

// Core returns the emulator core (faults, call counts).
func (s *Server) Core() *emulator.Core { return s.core }

// State returns the live object counts: tokens (the fixture bootstrap
// token included; a global token counts once however many regions hold
// it), policies and roles.
func (s *Server) State() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	tokens := map[string]bool{}
	for _, rg := range s.regions {
		for a := range rg.tokens {
			tokens[a] = true
		}
	}
	return map[string]int{"tokens": len(tokens), "policies": len(s.policies), "roles": len(s.roles)}
}

// RootToken returns the secret of the bootstrap management token, or ""
// if ACLs have not been bootstrapped.
func (s *Server) RootToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bootSecret
}

// Token returns a snapshot of the token with this accessor, from the
// authoritative region or, for a local token, the region that holds it.
func (s *Server) Token(accessor string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	for _, rg := range s.regionOrder() {
		if t, ok := rg.tokens[accessor]; ok {
			return s.snapshotLocked(t), true
		}
	}
	return Token{}, false
}

// TokenByName returns a snapshot of the oldest token with this name in
// any region (the authoritative region first).
func (s *Server) TokenByName(name string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	for _, rg := range s.regionOrder() {
		for _, t := range sortedTokens(rg, false) {
			if t.Name == name {
				return s.snapshotLocked(t), true
			}
		}
	}
	return Token{}, false
}

func (s *Server) snapshotLocked(t *aclToken) Token {
	out := Token{
		AccessorID: t.AccessorID, Name: t.Name, Type: t.Type,
		Policies: slices.Clone(t.Policies), Global: t.Global, CreateTime: t.CreateTime,
	}
	for _, l := range s.fixRoleLinksLocked(t).Roles {
		out.Roles = append(out.Roles, l.Name)
	}
	if t.ExpirationTime != nil {
		out.ExpirationTime = *t.ExpirationTime
	}
	return out
}

// DeleteTokenBehindBack deletes a token from every region without an API
// call, as another operator or Nomad's garbage collector would.
func (s *Server) DeleteTokenBehindBack(accessor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	s.index++
	for _, rg := range s.regions {
		rg.remove(accessor, s.index)
		rg.pending = slices.DeleteFunc(rg.pending, func(op replicated) bool { return op.accessor == accessor })
	}
}

// SetClock replaces the server's clock (nil restores time.Now). Token
// create times and expiry checks use it.
func (s *Server) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// handlerFn answers one API request: a JSON object (nil for an empty
// body) or a Nomad error. Headers may be set on w before returning.
type handlerFn func(w http.ResponseWriter, r *http.Request) (any, *codedError)

// ServeHTTP serves the Nomad ACL API and, under /_emulator/, the admin
// endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == emulator.AdminPrefix || strings.HasPrefix(r.URL.Path, emulator.AdminPrefix+"/") {
		s.admin.ServeHTTP(w, r)
		return
	}
	action, h := s.route(r)
	if h == nil {
		// Nomad's root fallthrough: 404 with an empty body.
		w.WriteHeader(http.StatusNotFound)
		return
	}
	fault, done := s.core.Enter(action)
	defer done()
	switch fault {
	case emulator.Throttle:
		writeThrottled(w)
		return
	case emulator.ServerError:
		writeError(w, coded(http.StatusInternalServerError, errServerErrorFaultBody))
		return
	case emulator.Drop:
		emulator.DropConnection(w)
		return
	}
	if action != actionAgentSelf && !s.knownRegion(r) {
		// The agent answers /v1/agent/self itself; everything else is an
		// RPC forwarded to the request's region.
		writeError(w, coded(http.StatusInternalServerError, errNoRegionPath))
		return
	}
	obj, err := h(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeObject(w, obj)
}

// route maps a request to its call-log action and handler.
func (s *Server) route(r *http.Request) (string, handlerFn) {
	p := r.URL.Path
	m := r.Method
	switch {
	case p == "/v1/agent/self":
		return actionAgentSelf, s.handleAgentSelf
	case p == "/v1/acl/bootstrap":
		return "Bootstrap", s.handleBootstrap
	case p == "/v1/acl/token":
		return "TokenCreate", s.handleTokenCreate
	case p == "/v1/acl/token/self":
		return "TokenSelf", s.handleTokenSelf
	case strings.HasPrefix(p, "/v1/acl/token/"):
		return byMethod(m, "TokenRead", "TokenUpdate", "TokenDelete"), s.handleTokenCrud
	case p == "/v1/acl/tokens":
		return "TokenList", s.handleTokenList
	case p == "/v1/acl/policies":
		return "PolicyList", s.handlePolicyList
	case strings.HasPrefix(p, "/v1/acl/policy/"):
		return byMethod(m, "PolicyRead", "PolicyUpsert", "PolicyDelete"), s.handlePolicy
	case p == "/v1/acl/roles":
		return "RoleList", s.handleRoleList
	case p == "/v1/acl/role":
		return "RoleCreate", s.handleRoleCreate
	case strings.HasPrefix(p, "/v1/acl/role/name/"):
		return "RoleReadByName", s.handleRoleSpecific
	case strings.HasPrefix(p, "/v1/acl/role/"):
		return byMethod(m, "RoleRead", "RoleUpdate", "RoleDelete"), s.handleRoleSpecific
	}
	return "", nil
}

func byMethod(m, read, write, del string) string {
	switch m {
	case http.MethodPut, http.MethodPost:
		return write
	case http.MethodDelete:
		return del
	}
	return read
}

// sortedTokens lists a region's tokens by (CreateIndex, AccessorID),
// Nomad's default list order, or by AccessorID when byID.
func sortedTokens(rg *regionState, byID bool) []*aclToken {
	out := make([]*aclToken, 0, len(rg.tokens))
	for _, t := range rg.tokens {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if !byID && out[i].CreateIndex != out[j].CreateIndex {
			return out[i].CreateIndex < out[j].CreateIndex
		}
		return out[i].AccessorID < out[j].AccessorID
	})
	return out
}
