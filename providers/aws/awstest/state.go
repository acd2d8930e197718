package awstest

import (
	"crypto/rand"
	"sort"
	"strings"
	"time"
)

// RootUserName is the IAM user that owns the root access key of an
// emulator (Options.AccessKey). It is a fixture: reset restores it.
const RootUserName = "emulator-root"

// Tag is one IAM tag.
type Tag struct {
	Key   string
	Value string
}

// AccessKey is an access key's id and status ("Active" or "Inactive") in a
// User snapshot; the secret is never exposed.
type AccessKey struct {
	ID     string
	Status string
}

// User is a deep-copied snapshot of one IAM user and everything attached to
// it, for tests to assert on.
type User struct {
	Name       string
	ARN        string
	UserID     string
	Path       string
	CreateDate time.Time
	// Boundary is the permissions boundary policy ARN ("" if none).
	Boundary string
	// Tags in the order they were added.
	Tags []Tag
	// ManagedPolicies are the attached managed policy ARNs in attach order.
	ManagedPolicies []string
	// InlinePolicies maps an inline policy name to its (decoded) document.
	InlinePolicies map[string]string
	// Groups are the names of the groups the user is in.
	Groups     []string
	AccessKeys []AccessKey
	// LoginProfile says whether the user has a console password.
	LoginProfile bool
	// MFADevices are the serial numbers of the user's enabled MFA devices.
	MFADevices []string
	// SSHPublicKeys are the ids of the user's SSH public keys.
	SSHPublicKeys []string
	// SigningCertificates are the ids of the user's signing certificates.
	SigningCertificates []string
	// ServiceSpecificCredentials are the ids of the user's
	// service-specific credentials.
	ServiceSpecificCredentials []string
}

type user struct {
	name, path, id, arn string
	created             time.Time
	boundary            string
	tags                []Tag
	managed             []string          // policy ARNs, attach order
	inline              map[string]string // policy name -> document
	inlineOrder         []string
	groups              []string // lower-case group keys, join order
	keys                []string // access key ids
	login               *loginProfile
	mfa                 []string // serial numbers
	ssh                 []*sshKey
	certs               []*signingCert
	svcCreds            []*serviceCred
}

type group struct {
	name, path, id, arn string
	created             time.Time
	users               []string // lower-case user keys
}

type policy struct {
	name, path, id, arn string
	description         string
	document            string
	created             time.Time
	awsManaged          bool
	attachments         int
	boundaryUses        int
	tags                []Tag
}

type role struct {
	name, path, id, arn string
	trust               string
	description         string
	maxSession          int // seconds
	created             time.Time
	boundary            string
	tags                []Tag
}

type accessKey struct {
	id, secret string
	user       string // lower-case user key
	status     string
	created    time.Time
	usableAt   time.Time
}

type session struct {
	keyID, secret, token string
	roleKey              string // lower-case role key
	roleName, roleArn    string
	roleID               string
	sessionName          string
	expires              time.Time
}

type loginProfile struct {
	created       time.Time
	resetRequired bool
}

type mfaDevice struct {
	serial   string
	user     string // lower-case user key; "" while not enabled
	enabled  time.Time
	created  time.Time
	seedB32  []byte
	qrCodePN []byte
}

type sshKey struct {
	id, body, fingerprint, status string
	uploaded                      time.Time
}

type signingCert struct {
	id, body, status string
	uploaded         time.Time
}

type serviceCred struct {
	id, service, serviceUser, status string
	created                          time.Time
}

// world is one emulated account. It is guarded by Server.mu.
type world struct {
	account  string           // 12-digit account id
	users    map[string]*user // key: lower-case name (IAM names are case-insensitive)
	groups   map[string]*group
	roles    map[string]*role
	policies map[string]*policy // key: ARN
	keys     map[string]*accessKey
	sessions map[string]*session
	mfa      map[string]*mfaDevice // key: serial number
}

func newWorld(account string) *world {
	return &world{
		account:  account,
		users:    map[string]*user{},
		groups:   map[string]*group{},
		roles:    map[string]*role{},
		policies: map[string]*policy{},
		keys:     map[string]*accessKey{},
		sessions: map[string]*session{},
		mfa:      map[string]*mfaDevice{},
	}
}

func lower(s string) string { return strings.ToLower(s) }

// awsManagedPolicies are the AWS managed policies every emulator account
// starts with (name, path).
var awsManagedPolicies = [][2]string{
	{"AdministratorAccess", "/"},
	{"PowerUserAccess", "/"},
	{"ReadOnlyAccess", "/"},
	{"IAMUserChangePassword", "/"},
	{"AmazonS3ReadOnlyAccess", "/"},
	{"AmazonEC2ReadOnlyAccess", "/"},
	{"ViewOnlyAccess", "/job-function/"},
}

const allowAllPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// seedLocked (re)creates every account with its fixtures: the AWS
// managed policies and the root user (RootUserName) with
// AdministratorAccess and the account's root access key, and the primary
// account's Options.Groups.
func (s *Server) seedLocked() {
	s.accounts = map[string]*world{}
	for _, id := range s.accountOrder {
		root := s.roots[id]
		s.accounts[id] = seedWorld(id, root.accessKey, root.secretKey)
	}
	s.w = s.accounts[s.opts.AccountID]
	for _, name := range s.opts.Groups {
		s.w.groups[lower(name)] = &group{name: name, path: "/", id: newID("AGPA", 17), created: time.Now(),
			arn: "arn:aws:iam::" + s.w.account + ":group/" + name}
	}
}

// seedWorld returns a new account with its fixtures.
func seedWorld(account, rootKey, rootSecret string) *world {
	w := newWorld(account)
	epoch := time.Date(2015, 2, 6, 18, 39, 46, 0, time.UTC)
	for _, p := range awsManagedPolicies {
		arn := "arn:aws:iam::aws:policy" + p[1] + p[0]
		w.policies[arn] = &policy{name: p[0], path: p[1], id: newID("ANPA", 17), arn: arn,
			document: allowAllPolicy, created: epoch, awsManaged: true}
	}
	now := time.Now()
	admin := "arn:aws:iam::aws:policy/AdministratorAccess"
	root := &user{name: RootUserName, path: "/", id: newID("AIDA", 17), arn: w.userARN("/", RootUserName),
		created: now, inline: map[string]string{}, managed: []string{admin}, keys: []string{rootKey}}
	w.policies[admin].attachments++
	w.users[lower(RootUserName)] = root
	w.keys[rootKey] = &accessKey{id: rootKey, secret: rootSecret, user: lower(RootUserName),
		status: "Active", created: now, usableAt: now}
	return w
}

func (w *world) userARN(path, name string) string {
	return "arn:aws:iam::" + w.account + ":user" + path + name
}

// snapshot deep-copies u of account w.
func (w *world) snapshotLocked(u *user) User {
	out := User{
		Name: u.name, ARN: u.arn, UserID: u.id, Path: u.path, CreateDate: u.created,
		Boundary:        u.boundary,
		Tags:            append([]Tag(nil), u.tags...),
		ManagedPolicies: append([]string(nil), u.managed...),
		InlinePolicies:  make(map[string]string, len(u.inline)),
		LoginProfile:    u.login != nil,
		MFADevices:      append([]string(nil), u.mfa...),
	}
	for k, v := range u.inline {
		out.InlinePolicies[k] = v
	}
	for _, g := range u.groups {
		if grp, ok := w.groups[g]; ok {
			out.Groups = append(out.Groups, grp.name)
		}
	}
	for _, id := range u.keys {
		if k, ok := w.keys[id]; ok {
			out.AccessKeys = append(out.AccessKeys, AccessKey{ID: k.id, Status: k.status})
		}
	}
	for _, k := range u.ssh {
		out.SSHPublicKeys = append(out.SSHPublicKeys, k.id)
	}
	for _, c := range u.certs {
		out.SigningCertificates = append(out.SigningCertificates, c.id)
	}
	for _, c := range u.svcCreds {
		out.ServiceSpecificCredentials = append(out.ServiceSpecificCredentials, c.id)
	}
	return out
}

// countsLocked returns the live object counts of every kind in account w.
func (w *world) countsLocked() map[string]int {
	now := time.Now()
	c := map[string]int{
		"users": len(w.users), "access_keys": len(w.keys), "groups": len(w.groups),
		"policies": len(w.policies), "roles": len(w.roles), "mfa_devices": len(w.mfa),
	}
	var inline, login, ssh, certs, svc, attached, memberships, sessions int
	for _, u := range w.users {
		inline += len(u.inline)
		attached += len(u.managed)
		memberships += len(u.groups)
		ssh += len(u.ssh)
		certs += len(u.certs)
		svc += len(u.svcCreds)
		if u.login != nil {
			login++
		}
	}
	for _, ss := range w.sessions {
		if now.Before(ss.expires) {
			sessions++
		}
	}
	c["inline_policies"] = inline
	c["attached_policies"] = attached
	c["group_memberships"] = memberships
	c["login_profiles"] = login
	c["ssh_public_keys"] = ssh
	c["signing_certificates"] = certs
	c["service_specific_credentials"] = svc
	c["sessions"] = sessions
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newID returns prefix followed by n random upper-case base32 characters,
// the shape of IAM's unique ids (AIDA…, AKIA…, AGPA…).
func newID(prefix string, n int) string {
	return prefix + randString(idAlphabet, n)
}

func randString(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// newSecret returns a 40-character secret access key.
func newSecret() string {
	return randString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
}
