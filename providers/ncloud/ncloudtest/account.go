package ncloudtest

import (
	"fmt"
	"strconv"
)

// newAccountLocked builds an account with the seeded policies and a root
// sub account (NCP_ADMINISTRATOR) owning the key ak/sk, and a main
// account key.
func (s *Server) newAccountLocked(acct account, rootLogin, ak, sk string) *state {
	now := s.clock()
	acct.customerID = newUUID()
	st := newState(acct)
	var admin *policy
	for _, p := range seedPolicies {
		pol := st.addPolicy(p.name, p.admins, policySystemManaged, now)
		if p.name == "NCP_ADMINISTRATOR" {
			admin = pol
		}
	}
	name := rootLogin
	if len(name) > 30 {
		name = name[:30]
	}
	id := newUUID()
	root := &subAccount{id: id, nrn: st.nrn(id), no: st.nextNo, loginID: rootLogin, name: name,
		apiGatewayAccess: true, policies: []string{admin.id}, created: now, modified: now}
	st.nextNo++
	st.subs[root.id] = root
	st.keys[ak] = &accessKey{id: ak, secret: sk, owner: root.id, created: now, active: true}
	root.keys = []string{ak}
	st.rootKey = ak
	st.mainKey = &accessKey{id: newKeyID(), secret: newSecret(), created: now, active: true}
	return st
}

// AddAccount adds another account behind the same gateway, with its own
// seeded policies, root sub account and keys, and returns a handle on it.
// Its keys act in it only. A reset drops it.
func (s *Server) AddAccount(opts AccountOptions) *Account {
	if opts.RootSubAccount == "" {
		opts.RootSubAccount = defaultRootSubAccount
	}
	if err := validateLoginID(opts.RootSubAccount); err != nil {
		panic("ncloudtest: invalid RootSubAccount: " + err.Error())
	}
	if opts.MemberNo <= 0 {
		opts.MemberNo = randMemberNo()
	}
	if opts.LoginAlias == "" {
		opts.LoginAlias = "acct" + strconv.Itoa(opts.MemberNo)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.newAccountLocked(account{memberNo: opts.MemberNo, domain: s.opts.Domain, loginAlias: opts.LoginAlias},
		opts.RootSubAccount, newKeyID(), newSecret())
	s.accounts = append(s.accounts, st)
	return &Account{s: s, st: st}
}

// Account is a handle on one account of a Server.
type Account struct {
	s  *Server
	st *state
}

// MemberNo returns the account's member number.
func (a *Account) MemberNo() int { return a.st.acct.memberNo }

// RootCredentials returns the access key of the account's root sub
// account and its secret.
func (a *Account) RootCredentials() (accessKey, secretKey string) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	k := a.st.keys[a.st.rootKey]
	if k == nil {
		return a.st.rootKey, ""
	}
	return k.id, k.secret
}

// MainCredentials returns the account's main account key (userType
// Customer in caller-identity answers).
func (a *Account) MainCredentials() (accessKey, secretKey string) {
	return a.st.mainKey.id, a.st.mainKey.secret
}

// State returns the account's live object counts (see Server.State).
func (a *Account) State() map[string]int {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.st.counts(a.s.clock())
}

// SubAccount returns a snapshot of a sub account of this account (see
// Server.SubAccount).
func (a *Account) SubAccount(name string) (SubAccount, bool) {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.st.snapshot(name)
}

// loginIDs returns the loginIds of the account's sub accounts, root sub
// account included, in creation order.
func (a *Account) loginIDs() []string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	subs := a.st.sortedSubs()
	out := make([]string, 0, len(subs))
	for _, sa := range subs {
		out = append(out, sa.loginID)
	}
	return out
}

// SetKeyActive activates or deactivates an access key of this account,
// as changeAccessKeyStatus does (see Server.SetKeyActive).
func (a *Account) SetKeyActive(accessKey string, active bool) error {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	k, ok := a.st.keys[accessKey]
	if !ok {
		return fmt.Errorf("ncloudtest: no access key %s", accessKey)
	}
	if err := a.st.setKeyActive(k.owner, accessKey, active); err != nil {
		return err
	}
	return nil
}
