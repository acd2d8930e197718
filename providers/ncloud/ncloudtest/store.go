package ncloudtest

import (
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Documented limits (management-subaccount-createsubaccount,
// pub-iam-v2-sub-account-createaccesskey, pub-iam-v2-sub-account-attachsubaccountpolicies).
const (
	maxSubAccounts        = 500
	maxKeysPerSubAccount  = 2
	maxPoliciesPerRequest = 10
)

// Policy types as the list-policies APIs name them.
const (
	policySystemManaged = "SYSTEM_MANAGED"
	policyUserCreated   = "USER_CREATED"
)

// seedPolicies are the System Managed policies every fresh server has.
// NCP_ADMINISTRATOR is the only one that may manage sub accounts.
var seedPolicies = []struct {
	name   string
	admins bool
}{
	{"NCP_ADMINISTRATOR", true},
	{"NCP_INFRA_MANAGER", false},
	{"NCP_VPC_SERVER_MANAGER", false},
	{"NCP_SERVER_MANAGER", false},
	{"NCP_VPC_MANAGER", false},
	{"NCP_OBJECT_STORAGE_MANAGER", false},
	{"NCP_FINANCE_MANAGER", false},
}

type policy struct {
	id, name, typ      string
	managesSubAccounts bool
	created            time.Time
}

type subAccount struct {
	id, nrn, loginID, name, email, memo string
	no                                  int
	apiGatewayAccess, console           bool
	needPasswordReset                   bool
	policies                            []string // policy ids, attach order
	keys                                []string // access key ids, create order
	created, modified                   time.Time
}

type accessKey struct {
	id, secret, owner string
	created           time.Time
	// active: only active keys authenticate and count towards the limit
	// of two per sub account (pub-iam-v2-sub-account-changeaccesskeystatus).
	active bool
}

type stsKey struct {
	id, secret, owner string
	created, expires  time.Time
	useMfa            bool
}

// account is what identifies an emulated Ncloud account.
type account struct {
	memberNo   int    // the account's member number, in every NRN of its resources
	domain     string // the NRN domainCode, e.g. "PUB"
	loginAlias string // caller-identity loginAlias
	customerID string // caller-identity id of the main account (userType Customer)
}

// state is one emulated account. Every method requires Server.mu held.
type state struct {
	acct     account
	policies map[string]*policy // by id
	subs     map[string]*subAccount
	keys     map[string]*accessKey // sub-account keys
	sts      map[string]*stsKey
	// mainKey is the main account's own key (userType Customer): it may
	// call every Sub Account API but is no sub account's key.
	mainKey *accessKey
	rootKey string // the root sub account's key id
	nextNo  int
}

// counts returns the live object counts: sub_accounts, access_keys
// (sub-account keys), sts_keys (unexpired) and policies.
func (st *state) counts(now time.Time) map[string]int {
	return map[string]int{
		"sub_accounts": len(st.subs),
		"access_keys":  len(st.keys),
		"sts_keys":     st.liveSTS(now),
		"policies":     len(st.policies),
	}
}

// snapshot returns the sub account whose loginId is name or, failing
// that, whose display name is name.
func (st *state) snapshot(name string) (SubAccount, bool) {
	var found *subAccount
	for _, sa := range st.sortedSubs() {
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
	out := SubAccount{ID: found.id, NRN: found.nrn, No: found.no, LoginID: found.loginID, Name: found.name, Memo: found.memo,
		AccessKeys: append([]string(nil), found.keys...), APIGatewayAccess: found.apiGatewayAccess,
		ConsoleAccess: found.console, CreateTime: found.created}
	for _, id := range found.keys {
		if k, ok := st.keys[id]; ok && !k.active {
			out.InactiveKeys = append(out.InactiveKeys, id)
		}
	}
	for _, id := range found.policies {
		if p, ok := st.policies[id]; ok {
			out.Policies = append(out.Policies, p.name)
		}
	}
	return out, true
}

func newState(acct account) *state {
	return &state{acct: acct, policies: map[string]*policy{}, subs: map[string]*subAccount{}, keys: map[string]*accessKey{}, sts: map[string]*stsKey{}, nextNo: 10001}
}

// nrn is the NRN of a sub account: nrn:domainCode:productName:regionCode:
// memberNo:resourceType/resourceId (management-rmgr-1-1-2, "NRN"): the
// member number is the account's, whichever sub account owns the resource.
func (st *state) nrn(subAccountID string) string {
	return fmt.Sprintf("nrn:%s:IAM::%d:SubAccount/%s", st.acct.domain, st.acct.memberNo, subAccountID)
}

func (st *state) addPolicy(name string, admins bool, typ string, now time.Time) *policy {
	p := &policy{id: newUUID(), name: name, typ: typ, managesSubAccounts: admins, created: now}
	st.policies[p.id] = p
	return p
}

func (st *state) policyByName(name string) *policy {
	for _, p := range st.policies {
		if p.name == name {
			return p
		}
	}
	return nil
}

// sortedSubs returns sub accounts oldest first (ties by id) for listing.
func (st *state) sortedSubs() []*subAccount {
	out := make([]*subAccount, 0, len(st.subs))
	for _, s := range st.subs {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].no != out[j].no {
			return out[i].no < out[j].no
		}
		return out[i].id < out[j].id
	})
	return out
}

func (st *state) sortedPolicies() []*policy {
	out := make([]*policy, 0, len(st.policies))
	for _, p := range st.policies {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// newSubAccountInput is what both API versions pass to createSubAccount.
type newSubAccountInput struct {
	loginID, name, email, memo, password string
	generatePassword, needPasswordReset  bool
	apiGatewayAccess, console            bool
}

func (st *state) createSubAccount(in newSubAccountInput, now time.Time) (*subAccount, *opError) {
	name := strings.TrimSpace(in.name)
	if err := validateLoginID(in.loginID); err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(name); n < 2 || n > 30 {
		return nil, validation("name", "name must be 2-30 characters (after trimming spaces)")
	}
	if in.email != "" && (len(in.email) < 6 || len(in.email) > 100 || !strings.Contains(in.email, "@")) {
		return nil, validation("email", "email must be a 6-100 character e-mail address")
	}
	if len(in.memo) > 300 {
		return nil, validation("memo", "memo must be at most 300 bytes")
	}
	if !in.generatePassword {
		if err := validatePassword(in.password); err != nil {
			return nil, err
		}
	}
	for _, s := range st.subs {
		if strings.EqualFold(s.loginID, in.loginID) {
			return nil, &opError{kind: errDuplicateLoginID, detail: fmt.Sprintf("loginId %q is already in use", in.loginID)}
		}
	}
	if len(st.subs) >= maxSubAccounts {
		return nil, &opError{kind: errSubAccountLimit, detail: fmt.Sprintf("at most %d sub accounts can be created", maxSubAccounts)}
	}
	id := newUUID()
	s := &subAccount{id: id, nrn: st.nrn(id), no: st.nextNo, loginID: in.loginID, name: name, email: in.email, memo: in.memo,
		apiGatewayAccess: in.apiGatewayAccess, console: in.console, needPasswordReset: in.needPasswordReset, created: now, modified: now}
	st.nextNo++
	st.subs[s.id] = s
	return s, nil
}

// validateLoginID: 3-60 characters of letters, digits and ". @ - _", first a
// letter (management-subaccount-createsubaccount, -checkloginid).
func validateLoginID(id string) *opError {
	bad := validation("loginId", "loginId must be 3-60 characters of letters, digits and '.', '@', '-', '_', starting with a letter")
	if len(id) < 3 || len(id) > 60 || !isLetter(id[0]) {
		return bad
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !isLetter(c) && !(c >= '0' && c <= '9') && !strings.ContainsRune(".@-_", rune(c)) {
			return bad
		}
	}
	return nil
}

// validatePassword: 8-16 characters combining letters, digits and symbols.
func validatePassword(p string) *opError {
	var letter, digit, symbol bool
	for _, c := range p {
		switch {
		case c < 128 && isLetter(byte(c)):
			letter = true
		case c >= '0' && c <= '9':
			digit = true
		default:
			symbol = true
		}
	}
	if len(p) < 8 || len(p) > 16 || !letter || !digit || !symbol {
		return validation("password", "password is required unless generated: 8-16 characters combining letters, digits and symbols")
	}
	return nil
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func (st *state) sub(id string) (*subAccount, *opError) {
	s, ok := st.subs[id]
	if !ok {
		return nil, &opError{kind: errSubAccountNotFound, detail: "sub account does not exist (subAccountId: " + id + ")"}
	}
	return s, nil
}

// deleteSubAccount refuses while access keys remain unless cascading
// (pub-iam-v2-sub-account-deletesubaccount: 409 ResourceInUse).
func (st *state) deleteSubAccount(id string, cascading bool) *opError {
	s, err := st.sub(id)
	if err != nil {
		return err
	}
	if len(s.keys) > 0 && !cascading {
		return &opError{kind: errInUse, detail: "the sub account still has access keys; delete them first"}
	}
	for _, k := range s.keys {
		delete(st.keys, k)
	}
	delete(st.subs, id)
	return nil
}

// activeKeys counts the active access keys of a sub account.
func (st *state) activeKeys(s *subAccount) int {
	n := 0
	for _, id := range s.keys {
		if k, ok := st.keys[id]; ok && k.active {
			n++
		}
	}
	return n
}

// createAccessKey makes an active key; refused when the sub account
// already has two active keys (inactive ones do not count: the limit is
// of keys "held in the active state", pub-iam-v2-sub-account-
// changeaccesskeystatus, 400 LimitExceeded).
func (st *state) createAccessKey(subID string, now time.Time) (*accessKey, *opError) {
	s, err := st.sub(subID)
	if err != nil {
		return nil, err
	}
	if st.activeKeys(s) >= maxKeysPerSubAccount {
		return nil, &opError{kind: errKeyLimit, detail: fmt.Sprintf("a sub account can have at most %d active access keys", maxKeysPerSubAccount)}
	}
	k := &accessKey{id: newKeyID(), secret: newSecret(), owner: subID, created: now, active: true}
	st.keys[k.id] = k
	s.keys = append(s.keys, k.id)
	return k, nil
}

// setKeyActive activates or deactivates a key; activating a third active
// key is LimitExceeded (pub-iam-v2-sub-account-changeaccesskeystatus).
func (st *state) setKeyActive(subID, keyID string, active bool) *opError {
	s, err := st.sub(subID)
	if err != nil {
		return err
	}
	k, ok := st.keys[keyID]
	if !ok || k.owner != subID {
		return &opError{kind: errAccessKeyNotFound, detail: "access key does not exist"}
	}
	if active && !k.active && st.activeKeys(s) >= maxKeysPerSubAccount {
		return &opError{kind: errKeyLimit, detail: fmt.Sprintf("a sub account can have at most %d active access keys", maxKeysPerSubAccount)}
	}
	k.active = active
	return nil
}

func (st *state) deleteAccessKey(subID, keyID string) *opError {
	s, err := st.sub(subID)
	if err != nil {
		return err
	}
	k, ok := st.keys[keyID]
	if !ok || k.owner != subID {
		return &opError{kind: errAccessKeyNotFound, detail: "access key does not exist"}
	}
	delete(st.keys, keyID)
	s.keys = removeString(s.keys, keyID)
	return nil
}

// attach adds one policy. Attaching a policy that is already attached
// fails (issue 10: the real Sub Account API refuses it; the code is this
// emulator's choice, see writeV2Error).
func (st *state) attach(s *subAccount, policyID string) *opError {
	if _, ok := st.policies[policyID]; !ok {
		return &opError{kind: errPolicyNotFound, detail: "Policy does not Exist. (policyId: " + policyID + ")"}
	}
	for _, p := range s.policies {
		if p == policyID {
			return &opError{kind: errAlreadyAttached, detail: "Policy is already attached. (policyId: " + policyID + ")"}
		}
	}
	s.policies = append(s.policies, policyID)
	return nil
}

// detach removes one policy; a policy that exists but is not attached is
// reported as not found for this sub account.
func (st *state) detach(s *subAccount, policyID string) *opError {
	for _, p := range s.policies {
		if p == policyID {
			s.policies = removeString(s.policies, policyID)
			return nil
		}
	}
	return &opError{kind: errPolicyNotFound, detail: "Policy is not attached. (policyId: " + policyID + ")"}
}

func (st *state) canManageSubAccounts(subID string) bool {
	s, ok := st.subs[subID]
	if !ok {
		return false
	}
	for _, id := range s.policies {
		if p, ok := st.policies[id]; ok && p.managesSubAccounts {
			return true
		}
	}
	return false
}

func (st *state) issueSTS(owner string, dur time.Duration, mfa bool, now time.Time) *stsKey {
	now = now.UTC().Truncate(time.Second)
	k := &stsKey{id: newKeyID(), secret: newSecret(), owner: owner, created: now, expires: now.Add(dur), useMfa: mfa}
	st.sts[k.id] = k
	return k
}

// liveSTS counts STS keys that still authenticate.
func (st *state) liveSTS(now time.Time) int {
	n := 0
	for _, k := range st.sts {
		if _, ok := st.subs[k.owner]; ok && now.Before(k.expires) {
			n++
		}
	}
	return n
}

func removeString(list []string, s string) []string {
	out := list[:0:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// newKeyID has the documented shape of new keys: "ncp_iam_" + 20 characters.
func newKeyID() string { return "ncp_iam_" + randString(20) }

func newSecret() string { return "ncp_iam_" + randString(40) }

// randMemberNo returns a random member number (the docs' example is 2942).
func randMemberNo() int {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return 100000 + int(uint32(b[0])<<16|uint32(b[1])<<8|uint32(b[2]))%9000000
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
