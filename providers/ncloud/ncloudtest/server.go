package ncloudtest

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// Options configures a Server. Zero values select the defaults.
type Options struct {
	// AccessKey and SecretKey are the root credential: an access key of the
	// fixture sub account RootSubAccount. Both empty: a random pair.
	AccessKey, SecretKey string
	// RootSubAccount is the loginId (and display name) of the fixture sub
	// account that owns the root key and has NCP_ADMINISTRATOR. Default
	// "vault-root". It must be a valid loginId.
	RootSubAccount string
	// MaxClockSkew is the accepted difference between x-ncp-apigw-timestamp
	// and the server clock. Default 5 minutes, as documented.
	MaxClockSkew time.Duration
}

const (
	defaultRootSubAccount = "vault-root"
	defaultMaxClockSkew   = 5 * time.Minute
	maxBodyBytes          = 1 << 20
)

// Server emulates the Ncloud STS and Sub Account APIs behind one API
// Gateway. It is an http.Handler and safe for concurrent use.
type Server struct {
	core    *emulator.Core
	admin   http.Handler
	opts    Options
	maxSkew time.Duration

	mu    sync.Mutex
	clock func() time.Time
	st    *state
}

// New returns a Server with its fixtures: the seeded System Managed
// policies and the root sub account holding the root key. It panics if
// opts.RootSubAccount is not a valid loginId or only one of AccessKey and
// SecretKey is set.
func New(opts Options) *Server {
	if opts.RootSubAccount == "" {
		opts.RootSubAccount = defaultRootSubAccount
	}
	if opts.MaxClockSkew <= 0 {
		opts.MaxClockSkew = defaultMaxClockSkew
	}
	if (opts.AccessKey == "") != (opts.SecretKey == "") {
		panic("ncloudtest: AccessKey and SecretKey must be set together")
	}
	if opts.AccessKey == "" {
		opts.AccessKey, opts.SecretKey = newKeyID(), newSecret()
	}
	if err := validateLoginID(opts.RootSubAccount); err != nil {
		panic("ncloudtest: invalid RootSubAccount: " + err.Error())
	}
	s := &Server{core: emulator.NewCore(), opts: opts, maxSkew: opts.MaxClockSkew, clock: time.Now}
	s.resetFixtures()
	s.admin = s.core.AdminHandler(s.State, s.resetFixtures)
	return s
}

// resetFixtures replaces all objects with the fixtures.
func (s *Server) resetFixtures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	st := newState()
	var admin *policy
	for _, p := range seedPolicies {
		pol := st.addPolicy(p.name, p.admins, policySystemManaged, now)
		if p.name == "NCP_ADMINISTRATOR" {
			admin = pol
		}
	}
	name := s.opts.RootSubAccount
	if len(name) > 30 {
		name = name[:30]
	}
	root := &subAccount{id: newUUID(), no: st.nextNo, loginID: s.opts.RootSubAccount, name: name,
		apiGatewayAccess: true, policies: []string{admin.id}, created: now, modified: now}
	st.nextNo++
	st.subs[root.id] = root
	st.keys[s.opts.AccessKey] = &accessKey{id: s.opts.AccessKey, secret: s.opts.SecretKey, owner: root.id, created: now}
	root.keys = []string{s.opts.AccessKey}
	s.st = st
}

// Core returns the fault-injection and call bookkeeping of this server.
func (s *Server) Core() *emulator.Core { return s.core }

// State returns the live object counts, fixtures included: sub_accounts,
// access_keys (sub-account keys), sts_keys (unexpired) and policies.
func (s *Server) State() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]int{
		"sub_accounts": len(s.st.subs),
		"access_keys":  len(s.st.keys),
		"sts_keys":     s.st.liveSTS(s.clock()),
		"policies":     len(s.st.policies),
	}
}

// RootCredentials returns the root access key and its secret.
func (s *Server) RootCredentials() (accessKey, secretKey string) {
	return s.opts.AccessKey, s.opts.SecretKey
}

// SetClock replaces the server clock (used for timestamps, STS expiry and
// the skew check); nil restores time.Now. Clients must then stamp their
// requests from the same clock, or they are refused as skewed.
func (s *Server) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// SubAccount is a snapshot of one sub account.
type SubAccount struct {
	ID               string
	No               int
	LoginID, Name    string
	Policies         []string // policy names, in attach order
	AccessKeys       []string // access key ids, in create order
	APIGatewayAccess bool
	ConsoleAccess    bool
	CreateTime       time.Time
}

// SubAccount returns a snapshot of the sub account whose loginId is name
// or, failing that, whose display name is name.
func (s *Server) SubAccount(name string) (SubAccount, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *subAccount
	for _, sa := range s.st.sortedSubs() {
		if sa.loginID == name {
			found = sa
			break
		}
		if found == nil && sa.name == name {
			found = sa
		}
	}
	if found == nil {
		return SubAccount{}, false
	}
	out := SubAccount{ID: found.id, No: found.no, LoginID: found.loginID, Name: found.name,
		AccessKeys: append([]string(nil), found.keys...), APIGatewayAccess: found.apiGatewayAccess,
		ConsoleAccess: found.console, CreateTime: found.created}
	for _, id := range found.policies {
		if p, ok := s.st.policies[id]; ok {
			out.Policies = append(out.Policies, p.name)
		}
	}
	return out, true
}

// STSKey is a snapshot of one STS temporary key.
type STSKey struct {
	AccessKey    string
	SubAccountID string
	CreateTime   time.Time
	ExpireTime   time.Time
	UseMfa       bool
}

// STSKey returns a snapshot of an issued STS key, expired or not.
func (s *Server) STSKey(accessKey string) (STSKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.st.sts[accessKey]
	if !ok {
		return STSKey{}, false
	}
	return STSKey{AccessKey: k.id, SubAccountID: k.owner, CreateTime: k.created, ExpireTime: k.expires, UseMfa: k.useMfa}, true
}

// AddPolicy adds a policy (USER_CREATED) and returns its id. A policy with
// managesSubAccounts lets its holders call the Sub Account API.
func (s *Server) AddPolicy(name string, managesSubAccounts bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.addPolicy(name, managesSubAccounts, policyUserCreated, s.clock()).id
}

// PolicyID returns the id of the policy named name.
func (s *Server) PolicyID(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.st.policyByName(name); p != nil {
		return p.id, true
	}
	return "", false
}

// ServeHTTP serves the admin endpoints under /_emulator and the cloud API
// (STS and Sub Account v1/v2) everywhere else.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == emulator.AdminPrefix || strings.HasPrefix(r.URL.Path, emulator.AdminPrefix+"/") {
		s.admin.ServeHTTP(w, r)
		return
	}
	rt, params := matchRoute(r.Method, r.URL.Path)
	if rt == nil {
		writeGatewayError(w, http.StatusNotFound, gwNotFound, msgNotFound, "No API is registered for "+r.Method+" "+r.URL.Path+".")
		return
	}
	fault, done := s.core.Enter(rt.action)
	defer done()
	switch fault {
	case emulator.Drop:
		emulator.DropConnection(w)
		return
	case emulator.Throttle:
		writeGatewayError(w, http.StatusTooManyRequests, gwRateLimited, msgRateLimited, "Too many requests; retry later.")
		return
	case emulator.ServerError:
		writeGatewayError(w, http.StatusInternalServerError, gwUnexpected, msgUnexpected, "Injected server error.")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeGatewayError(w, http.StatusRequestEntityTooLarge, gwTooLarge, msgTooLarge, "")
			return
		}
		writeGatewayError(w, http.StatusBadRequest, gwBadRequest, msgBadRequest, "The request body could not be read.")
		return
	}
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if rt.api != apiSTS {
		s.mu.Lock()
		allowed := s.st.canManageSubAccounts(c.subAccountID)
		s.mu.Unlock()
		if !allowed {
			if rt.api == apiV2 {
				writeV2Forbidden(w)
			} else {
				permissionDenied(w, "The caller has no policy that allows Sub Account management.")
			}
			return
		}
	}
	rt.handle(s, w, &request{r: r, params: params, body: body, caller: c})
}
