// Package awstest is a wire-faithful emulator of the AWS IAM and STS Query
// APIs for tests: form-encoded requests, XML answers and error codes as AWS
// sends them, SigV4 verified with the SDK's own signer, IAM's documented
// names, limits and delete conflicts, small pages so clients must paginate,
// a configurable delay before a new access key works, and the shared fault
// injection, call log and admin endpoints of internal/emulator.
//
// One Server answers both IAM and STS actions (dispatch is by Action), so
// the same URL can be given as the IAM and the STS endpoint; the SigV4
// credential scope must still name the service of the action ("iam" or
// "sts"), as AWS requires.
//
// Like IAM, GetUserPolicy, GetRole and GetAccountAuthorizationDetails
// return policy documents URL-encoded. GetAccountAuthorizationDetails
// lists users with their tags (which ListUsers leaves out), so a whole
// account's tagged users are read in pages of up to 1000 (see
// iam_authdetails.go).
//
// A Server holds one account (Options.AccountID) and any number more
// (AddAccount), all at the same URL as at AWS: the signing key decides
// which account a request acts in, and a role may trust another
// account's principals (cross-account AssumeRole).
//
// IAM authorization is emulated on request (Options.EnforcePolicies: the
// caller's own policies and boundary, see authz.go); by default every
// authenticated caller may call every action. Not emulated: conditions
// in policies and trust policies (AssumeRole checks only the Allow/Deny
// statements and their AWS principals), the effect of session policies,
// and policy versions beyond v1.
package awstest

import (
	"crypto/rand"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// Options configure a Server. Zero values get defaults.
type Options struct {
	// AccountID is the 12-digit account id; default 123456789012.
	AccountID string
	// Region is the region reported to clients; default us-east-1.
	Region string
	// AccessKey and SecretKey are the root user's key pair; a random pair
	// is generated when either is empty.
	AccessKey string
	SecretKey string
	// PageSize is the largest page any List* action returns; default 2.
	PageSize int
	// KeyDelay is how long a key made by CreateAccessKey is refused
	// (InvalidClientTokenId) after its creation, as IAM's eventual
	// consistency does; default 0.
	KeyDelay time.Duration
	// ManagedPoliciesPerUser is the account's quota of managed policies
	// attached to one user: 10 by default, as in IAM, which lets an
	// account raise it to at most 20. Values outside 10..20 panic in New.
	ManagedPoliciesPerUser int
	// EnforcePolicies makes the server authorize every request as IAM
	// does, from the calling user's own policies and permissions boundary,
	// answering 403 AccessDenied otherwise (see authz.go). Off by default:
	// every authenticated caller may then call every action.
	EnforcePolicies bool
	// Groups are IAM groups (path "/") of the primary account made with
	// its fixtures, and made again by Reset, for roles that name
	// iam_groups.
	Groups []string
}

// maxBody bounds a request body (a policy document is at most 131072
// characters, which URL-encoding can triple).
const maxBody = 1 << 20

// Server is the emulated IAM + STS account. It is an http.Handler.
type Server struct {
	opts       Options
	rootKey    string
	rootSecret string
	core       *emulator.Core
	admin      http.Handler
	ops        map[string]operation

	mu sync.Mutex
	// accounts are the emulated accounts by id: the primary one
	// (Options.AccountID, also w) and those of AddAccount. As at AWS, one
	// endpoint serves them all; the signing key decides the account.
	accounts     map[string]*world
	accountOrder []string
	roots        map[string]rootKey // account id -> its root user's key
	w            *world
	keyDelay     time.Duration
	enforce      bool
}

// rootKey is the access key pair of an account's root user fixture.
type rootKey struct{ accessKey, secretKey string }

// operation is one Query action: its service and its handler. Handlers run
// with Server.mu held and must not block.
type operation struct {
	svc string
	fn  func(c *call) (any, *apiError)
}

// call is the context of one authenticated request.
type call struct {
	s      *Server
	action string
	p      url.Values
	caller principal
	// w is the caller's account, where the action takes effect.
	w   *world
	now time.Time
}

// New returns a Server with its fixtures: the root user (RootUserName) with
// the root access key and AdministratorAccess, and a few AWS managed
// policies.
func New(opts Options) *Server {
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 2
	}
	if opts.ManagedPoliciesPerUser == 0 {
		opts.ManagedPoliciesPerUser = defaultManagedPerUser
	}
	if opts.ManagedPoliciesPerUser < defaultManagedPerUser || opts.ManagedPoliciesPerUser > maxManagedPerUserRaised {
		panic(fmt.Sprintf("awstest: ManagedPoliciesPerUser %d is outside IAM's 10..20", opts.ManagedPoliciesPerUser))
	}
	if opts.AccessKey == "" || opts.SecretKey == "" {
		opts.AccessKey, opts.SecretKey = newID("AKIA", 16), newSecret()
	}
	s := &Server{opts: opts, rootKey: opts.AccessKey, rootSecret: opts.SecretKey,
		core: emulator.NewCore(), keyDelay: opts.KeyDelay, enforce: opts.EnforcePolicies,
		accountOrder: []string{opts.AccountID},
		roots:        map[string]rootKey{opts.AccountID: {opts.AccessKey, opts.SecretKey}}}
	s.ops = s.operations()
	s.admin = s.core.AdminHandler(s.State, s.resetState)
	s.seedLocked()
	return s
}

// Core returns the fault-injection and call bookkeeping of this server.
func (s *Server) Core() *emulator.Core { return s.core }

// RootCredentials returns the root user's access key pair.
func (s *Server) RootCredentials() (accessKey, secretKey string) {
	return s.rootKey, s.rootSecret
}

// AccountID returns the primary account's id.
func (s *Server) AccountID() string { return s.opts.AccountID }

// AddAccount adds another account, with its own fixtures (root user,
// AWS managed policies) and a new root access key, served at the same
// endpoint as the primary one: requests signed with its keys act in it,
// as the same AWS endpoint serves every account. A role of one account
// may trust another's principals (cross-account AssumeRole). It returns
// the new root user's key pair; Reset keeps the account and its key.
func (s *Server) AddAccount(accountID string) (accessKey, secretKey string) {
	if len(accountID) != 12 || strings.Trim(accountID, "0123456789") != "" {
		panic(fmt.Sprintf("awstest: account id %q is not 12 digits", accountID))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[accountID]; ok {
		panic(fmt.Sprintf("awstest: account %s already exists", accountID))
	}
	accessKey, secretKey = newID("AKIA", 16), newSecret()
	s.accountOrder = append(s.accountOrder, accountID)
	s.roots[accountID] = rootKey{accessKey, secretKey}
	s.accounts[accountID] = seedWorld(accountID, accessKey, secretKey)
	return accessKey, secretKey
}

// Account returns a view of one account of this server (the primary
// one's id or one made by AddAccount), for tests to inspect; nil if
// there is no such account.
func (s *Server) Account(accountID string) *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roots[accountID]; !ok {
		return nil
	}
	return &Account{s: s, id: accountID}
}

// Account is one account of a Server.
type Account struct {
	s  *Server
	id string
}

// ID returns the account id.
func (a *Account) ID() string { return a.id }

// RootCredentials returns the key pair of the account's root user.
func (a *Account) RootCredentials() (accessKey, secretKey string) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	r := a.s.roots[a.id]
	return r.accessKey, r.secretKey
}

// State returns the account's live object counts (see Server.State).
func (a *Account) State() map[string]int {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.s.accounts[a.id].countsLocked()
}

// User returns a snapshot of the account's named user.
func (a *Account) User(name string) (User, bool) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	w := a.s.accounts[a.id]
	u, ok := w.users[lower(name)]
	if !ok {
		return User{}, false
	}
	return w.snapshotLocked(u), true
}

// UserNames returns the names of the account's users, root included, sorted.
func (a *Account) UserNames() []string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.s.accounts[a.id].userNamesLocked()
}

// Region returns the region the emulator reports.
func (s *Server) Region() string { return s.opts.Region }

// SetKeyDelay changes the delay applied to access keys created from now on.
func (s *Server) SetKeyDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyDelay = d
}

// State returns the primary account's live object counts: at least users, access_keys,
// groups, policies (AWS managed fixtures included) and roles, plus
// inline_policies, attached_policies, group_memberships, login_profiles,
// mfa_devices, ssh_public_keys, signing_certificates,
// service_specific_credentials and unexpired STS sessions.
func (s *Server) State() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.countsLocked()
}

// Reset restores the fixtures of every account and the key delay of
// Options (faults and counters live in Core, which POST /_emulator/reset
// also resets).
func (s *Server) Reset() { s.resetState() }

func (s *Server) resetState() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seedLocked()
	s.keyDelay = s.opts.KeyDelay
}

// User returns a deep-copied snapshot of the primary account's named user
// (case-insensitive).
func (s *Server) User(name string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.w.users[lower(name)]
	if !ok {
		return User{}, false
	}
	return s.w.snapshotLocked(u), true
}

// UserNames returns the names of the primary account's users, root
// included, sorted.
func (s *Server) UserNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.userNamesLocked()
}

func (w *world) userNamesLocked() []string {
	out := make([]string, 0, len(w.users))
	for _, k := range sortedKeys(w.users) {
		out = append(out, w.users[k].name)
	}
	return out
}

// ServeHTTP serves the admin endpoints under /_emulator and every other
// request as an IAM or STS Query API call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == emulator.AdminPrefix || strings.HasPrefix(r.URL.Path, emulator.AdminPrefix+"/") {
		s.admin.ServeHTTP(w, r)
		return
	}
	reqID := newRequestID()
	body, readErr := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	params, parseErr := parseParams(r, body)
	action := params.Get("Action")
	op, known := s.ops[action]
	svc := op.svc
	if !known {
		svc = svcIAM
		if params.Get("Version") == stsVersion {
			svc = svcSTS
		}
	}

	fault, done := s.core.Enter(action)
	defer done()
	switch fault {
	case emulator.Throttle:
		writeError(w, svc, reqID, errThrottling())
		return
	case emulator.ServerError:
		writeError(w, svc, reqID, errServerFault(svc))
		return
	case emulator.Drop:
		emulator.DropConnection(w)
		return
	}

	switch {
	case readErr != nil:
		writeError(w, svc, reqID, errInvalidInput("could not read the request body"))
		return
	case len(body) > maxBody:
		writeError(w, svc, reqID, errInvalidInput("request body larger than %d bytes", maxBody))
		return
	}
	authSvc := ""
	if known {
		authSvc = svc
	}
	caller, aerr := s.authenticate(r, body, authSvc)
	if aerr != nil {
		writeError(w, svc, reqID, aerr)
		return
	}
	if parseErr != nil {
		writeError(w, svc, reqID, parseErr)
		return
	}
	if !known {
		if action == "" {
			writeError(w, svc, reqID, newErr(http.StatusBadRequest, "MissingAction", "Missing Action"))
			return
		}
		writeError(w, svc, reqID, newErr(http.StatusBadRequest, "InvalidAction",
			"Could not find operation %s for version %s", action, params.Get("Version")))
		return
	}

	s.mu.Lock()
	c := &call{s: s, action: action, p: params, caller: caller, w: s.accounts[caller.account], now: time.Now()}
	if c.w == nil { // the account's key was valid a moment ago; a Reset raced
		s.mu.Unlock()
		writeError(w, svc, reqID, errInvalidClientTokenID())
		return
	}
	if aerr := c.authorizeLocked(); aerr != nil {
		s.mu.Unlock()
		writeError(w, svc, reqID, aerr)
		return
	}
	res, aerr := op.fn(c)
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, svc, reqID, aerr)
		return
	}
	writeResult(w, svc, action, reqID, res)
}

// parseParams returns the Query parameters of r: the URL query merged with
// a form-encoded body.
func parseParams(r *http.Request, body []byte) (url.Values, *apiError) {
	params := r.URL.Query()
	if len(body) == 0 {
		return params, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return params, errInvalidInput("unsupported Content-Type %q: the Query API takes application/x-www-form-urlencoded", ct)
		}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return params, errInvalidInput("the request body is not valid form encoding")
	}
	for k, v := range form {
		params[k] = append(params[k], v...)
	}
	return params, nil
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// operations is the action table.
func (s *Server) operations() map[string]operation {
	iam := map[string]func(c *call) (any, *apiError){
		"CreateUser": opCreateUser, "GetUser": opGetUser, "DeleteUser": opDeleteUser, "ListUsers": opListUsers,
		"TagUser": opTagUser, "UntagUser": opUntagUser, "ListUserTags": opListUserTags,
		"AttachUserPolicy": opAttachUserPolicy, "DetachUserPolicy": opDetachUserPolicy,
		"ListAttachedUserPolicies": opListAttachedUserPolicies,
		"PutUserPolicy":            opPutUserPolicy, "GetUserPolicy": opGetUserPolicy,
		"DeleteUserPolicy": opDeleteUserPolicy, "ListUserPolicies": opListUserPolicies,
		"CreatePolicy": opCreatePolicy, "GetPolicy": opGetPolicy, "DeletePolicy": opDeletePolicy,
		"CreateGroup": opCreateGroup, "GetGroup": opGetGroup, "DeleteGroup": opDeleteGroup,
		"AddUserToGroup": opAddUserToGroup, "RemoveUserFromGroup": opRemoveUserFromGroup,
		"ListGroupsForUser": opListGroupsForUser,
		"CreateAccessKey":   opCreateAccessKey, "DeleteAccessKey": opDeleteAccessKey,
		"ListAccessKeys": opListAccessKeys, "UpdateAccessKey": opUpdateAccessKey,
		"CreateLoginProfile": opCreateLoginProfile, "GetLoginProfile": opGetLoginProfile,
		"DeleteLoginProfile":     opDeleteLoginProfile,
		"CreateVirtualMFADevice": opCreateVirtualMFADevice, "EnableMFADevice": opEnableMFADevice,
		"DeactivateMFADevice": opDeactivateMFADevice, "ListMFADevices": opListMFADevices,
		"DeleteVirtualMFADevice": opDeleteVirtualMFADevice,
		"UploadSSHPublicKey":     opUploadSSHPublicKey, "DeleteSSHPublicKey": opDeleteSSHPublicKey,
		"ListSSHPublicKeys":        opListSSHPublicKeys,
		"UploadSigningCertificate": opUploadSigningCertificate, "DeleteSigningCertificate": opDeleteSigningCertificate,
		"ListSigningCertificates":         opListSigningCertificates,
		"CreateServiceSpecificCredential": opCreateServiceSpecificCredential,
		"DeleteServiceSpecificCredential": opDeleteServiceSpecificCredential,
		"ListServiceSpecificCredentials":  opListServiceSpecificCredentials,
		"CreateRole":                      opCreateRole, "GetRole": opGetRole, "DeleteRole": opDeleteRole,
		"GetAccountAuthorizationDetails": opGetAccountAuthorizationDetails,
	}
	sts := map[string]func(c *call) (any, *apiError){
		"GetCallerIdentity": opGetCallerIdentity, "AssumeRole": opAssumeRole,
	}
	ops := map[string]operation{}
	for k, fn := range iam {
		ops[k] = operation{svc: svcIAM, fn: fn}
	}
	for k, fn := range sts {
		ops[k] = operation{svc: svcSTS, fn: fn}
	}
	return ops
}

// TestServer is a Server listening on a loopback port for one test.
type TestServer struct {
	*Server
	// URL is the base URL to give the SDKs as IAM and STS endpoint.
	URL string
	// Admin is URL + "/_emulator".
	Admin string
}

// Start serves a new Server on 127.0.0.1 until the test ends.
func Start(tb testing.TB, opts Options) *TestServer {
	tb.Helper()
	s := New(opts)
	hs := httptest.NewServer(s)
	tb.Cleanup(hs.Close)
	return &TestServer{Server: s, URL: hs.URL, Admin: hs.URL + emulator.AdminPrefix}
}
