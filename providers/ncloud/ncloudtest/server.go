package ncloudtest

import (
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	// MemberNo is the account's member number, which every NRN of its
	// resources carries. Default: a random number, so two servers act as
	// two accounts.
	MemberNo int
	// Domain is the NRN domainCode of the site the server plays: "PUB"
	// (default), "GOV" or "FIN".
	Domain string
	// LoginAlias is the account's loginAlias in caller-identity answers.
	// Default "acct" + MemberNo.
	LoginAlias string
	// DropAfterEffect is the share (0..1) of dropped connections (the
	// drop_rate fault) that break after the call took effect, so its
	// answer is lost but not its effect, as when a connection breaks on
	// the way back. Default 0: a drop happens before the request arrives.
	DropAfterEffect float64
}

// AccountOptions configures an account added with Server.AddAccount.
type AccountOptions struct {
	// MemberNo is the account's member number; default random.
	MemberNo int
	// LoginAlias is its loginAlias; default "acct" + MemberNo.
	LoginAlias string
	// RootSubAccount is the loginId of its fixture sub account; default
	// "vault-root".
	RootSubAccount string
}

const (
	defaultRootSubAccount = "vault-root"
	defaultMaxClockSkew   = 5 * time.Minute
	defaultDomain         = "PUB"
	maxBodyBytes          = 1 << 20
)

// Server emulates the Ncloud STS and Sub Account APIs behind one API
// Gateway, for one account or more (AddAccount): a key acts in the account
// it belongs to, as on the real gateway, where every account shares the
// same hosts. It is an http.Handler and safe for concurrent use.
type Server struct {
	core    *emulator.Core
	admin   http.Handler
	opts    Options
	maxSkew time.Duration

	mu       sync.Mutex
	clock    func() time.Time
	st       *state   // the first account, which Server's own methods show
	accounts []*state // every account, the first one first
	lose     map[string]int
	rng      *rand.Rand
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
	if opts.Domain == "" {
		opts.Domain = defaultDomain
	}
	if (opts.AccessKey == "") != (opts.SecretKey == "") {
		panic("ncloudtest: AccessKey and SecretKey must be set together")
	}
	if opts.AccessKey == "" {
		opts.AccessKey, opts.SecretKey = newKeyID(), newSecret()
	}
	if opts.MemberNo <= 0 {
		opts.MemberNo = randMemberNo()
	}
	if opts.LoginAlias == "" {
		opts.LoginAlias = "acct" + strconv.Itoa(opts.MemberNo)
	}
	if err := validateLoginID(opts.RootSubAccount); err != nil {
		panic("ncloudtest: invalid RootSubAccount: " + err.Error())
	}
	s := &Server{core: emulator.NewCore(), opts: opts, maxSkew: opts.MaxClockSkew, clock: time.Now,
		rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))}
	s.resetFixtures()
	s.admin = s.core.AdminHandler(s.State, s.resetFixtures)
	return s
}

// resetFixtures replaces all objects with the fixtures of the first
// account; accounts added with AddAccount are dropped.
func (s *Server) resetFixtures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = s.newAccountLocked(account{memberNo: s.opts.MemberNo, domain: s.opts.Domain, loginAlias: s.opts.LoginAlias},
		s.opts.RootSubAccount, s.opts.AccessKey, s.opts.SecretKey)
	s.accounts = []*state{s.st}
	s.lose = map[string]int{}
}

// LoseAnswers makes the next n calls of action take effect and then lose
// their answer: the connection is closed instead, as when it breaks on
// the way back. Tests use it to replay a client's retry after a lost
// answer at one chosen step.
func (s *Server) LoseAnswers(action string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose[action] += n
}

// loseAnswer reports whether this call's answer is to be lost after its
// effect: a LoseAnswers count, or a drop fault that falls after the
// effect (Options.DropAfterEffect).
func (s *Server) loseAnswer(action string, fault emulator.Fault) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lose[action] > 0 {
		s.lose[action]--
		return true
	}
	return fault == emulator.Drop && s.rng.Float64() < s.opts.DropAfterEffect
}

// primary is the handle on the first account.
func (s *Server) primary() *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Account{s: s, st: s.st}
}

// Core returns the fault-injection and call bookkeeping of this server.
func (s *Server) Core() *emulator.Core { return s.core }

// State returns the live object counts of the first account, fixtures
// included: sub_accounts, access_keys (sub-account keys), sts_keys
// (unexpired) and policies.
func (s *Server) State() map[string]int { return s.primary().State() }

// RootCredentials returns the root access key and its secret.
func (s *Server) RootCredentials() (accessKey, secretKey string) {
	return s.opts.AccessKey, s.opts.SecretKey
}

// MainCredentials returns the first account's main account key.
func (s *Server) MainCredentials() (accessKey, secretKey string) {
	return s.primary().MainCredentials()
}

// MemberNo returns the first account's member number.
func (s *Server) MemberNo() int { return s.opts.MemberNo }

// SetKeyActive activates or deactivates an access key of the first
// account, as changeAccessKeyStatus does: an inactive key does not
// authenticate and does not count towards the two active keys a sub
// account may have.
func (s *Server) SetKeyActive(accessKey string, active bool) error {
	return s.primary().SetKeyActive(accessKey, active)
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
	NRN              string
	No               int
	LoginID, Name    string
	Memo             string
	Policies         []string // policy names, in attach order
	AccessKeys       []string // access key ids, in create order
	InactiveKeys     []string // those of AccessKeys that are inactive
	APIGatewayAccess bool
	ConsoleAccess    bool
	CreateTime       time.Time
}

// SubAccount returns a snapshot of the first account's sub account whose
// loginId is name or, failing that, whose display name is name.
func (s *Server) SubAccount(name string) (SubAccount, bool) { return s.primary().SubAccount(name) }

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
	var k *stsKey
	var ok bool
	for _, st := range s.accounts {
		if k, ok = st.sts[accessKey]; ok {
			break
		}
	}
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
	if s.loseAnswer(rt.action, fault) {
		// The call takes effect; its answer is lost on the way back.
		s.serve(httptest.NewRecorder(), r, rt, params)
		emulator.DropConnection(w)
		return
	}
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
	s.serve(w, r, rt, params)
}

// serve authenticates and answers one API call.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt *route, params []string) {
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
	c, ok := s.authenticate(w, r, rt)
	if !ok {
		return
	}
	if rt.api != apiSTS {
		s.mu.Lock()
		allowed := c.main || c.st.canManageSubAccounts(c.subAccountID)
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
	rt.handle(s, w, &request{r: r, params: params, body: body, caller: c, st: c.st})
}
