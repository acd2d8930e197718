package nomadtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// Nomad's token types.
const (
	typeClient     = "client"
	typeManagement = "management"
)

// Limits from nomad/structs.
const (
	maxTokenNameLength       = 256
	maxDescriptionLength     = 256
	bootstrapTokenName       = "Bootstrap Token"
	anonymousAccessor        = "anonymous"
	anonymousTokenName       = "Anonymous Token"
	anonymousPolicyName      = "anonymous"
	defaultMinExpirationTTL  = time.Minute
	defaultMaxExpirationTTL  = 24 * time.Hour
	maxRequestBodyBytes      = 1 << 20
	errPermissionDenied      = "Permission denied"
	errTokenExpired          = "ACL token expired"
	errTokenNotFound         = "ACL token not found"
	errInvalidMethod         = "Invalid method"
	errRequestBodyEmpty      = "Request body is empty"
	errServerErrorFaultBody  = "No cluster leader"
	errNoRegionPath          = "No path to region"
	defaultRegion            = "global"
	errRoleNotFound          = "ACL role not found"
	errPolicyNotFound        = "ACL policy not found"
	errTokenAccessorMismatch = "ACL token accessor does not match request path"
)

// validName is Nomad's ValidPolicyName / ValidACLRoleName.
var validName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

// uuidRE is Nomad's helper.IsUUID.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isUUID(s string) bool { return uuidRE.MatchString(s) }

// newUUID returns a random UUID-formatted string, as Nomad's uuid.Generate.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("nomadtest: crypto/rand: %v", err))
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// roleLink is structs.ACLTokenRoleLink.
type roleLink struct {
	ID   string
	Name string
}

// aclToken is the stored token; its JSON form is structs.ACLToken's.
type aclToken struct {
	AccessorID     string
	SecretID       string
	Name           string
	Type           string
	Policies       []string
	Roles          []*roleLink
	Global         bool
	Hash           []byte
	CreateTime     time.Time
	ExpirationTime *time.Time
	ExpirationTTL  time.Duration
	CreateIndex    uint64
	ModifyIndex    uint64
}

// MarshalJSON writes the token as structs.ACLToken.MarshalJSON does:
// ExpirationTTL first, as a duration string ("" when unset).
func (t *aclToken) MarshalJSON() ([]byte, error) {
	type alias aclToken
	ttl := ""
	if t.ExpirationTTL != 0 {
		ttl = t.ExpirationTTL.String()
	}
	return json.Marshal(&struct {
		ExpirationTTL string
		*alias
	}{ttl, (*alias)(t)})
}

// tokenInput is the request body of token create/update. ExpirationTTL may
// be a duration string or a number of nanoseconds; Hash is ignored.
type tokenInput struct {
	AccessorID     string
	SecretID       string
	Name           string
	Type           string
	Policies       []string
	Roles          []*roleLink
	Global         bool
	CreateTime     time.Time
	ExpirationTime *time.Time
	ExpirationTTL  time.Duration
}

// UnmarshalJSON mirrors structs.ACLToken.UnmarshalJSON.
func (t *tokenInput) UnmarshalJSON(data []byte) error {
	type alias tokenInput
	aux := &struct {
		ExpirationTTL any
		Hash          any
		*alias
	}{alias: (*alias)(t)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	switch v := aux.ExpirationTTL.(type) {
	case string:
		if v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			t.ExpirationTTL = d
		}
	case float64:
		t.ExpirationTTL = time.Duration(v)
	}
	return nil
}

// tokenStub is structs.ACLTokenListStub.
type tokenStub struct {
	AccessorID     string
	Name           string
	Type           string
	Policies       []string
	Roles          []*roleLink
	Global         bool
	Hash           []byte
	CreateTime     time.Time
	ExpirationTime *time.Time
	CreateIndex    uint64
	ModifyIndex    uint64
}

func (t *aclToken) stub() *tokenStub {
	return &tokenStub{
		AccessorID: t.AccessorID, Name: t.Name, Type: t.Type,
		Policies: t.Policies, Roles: t.Roles, Global: t.Global, Hash: t.Hash,
		CreateTime: t.CreateTime, ExpirationTime: t.ExpirationTime,
		CreateIndex: t.CreateIndex, ModifyIndex: t.ModifyIndex,
	}
}

// clone deep-copies the token so callers never share state with the store.
func (t *aclToken) clone() *aclToken {
	c := *t
	if t.Policies != nil {
		c.Policies = append([]string{}, t.Policies...)
	}
	if t.Roles != nil {
		c.Roles = make([]*roleLink, len(t.Roles))
		for i, l := range t.Roles {
			cp := *l
			c.Roles[i] = &cp
		}
	}
	c.Hash = append([]byte(nil), t.Hash...)
	if t.ExpirationTime != nil {
		e := *t.ExpirationTime
		c.ExpirationTime = &e
	}
	return &c
}

func (t *aclToken) expired(now time.Time) bool {
	if t.ExpirationTime == nil || t.ExpirationTime.IsZero() {
		return false
	}
	return t.ExpirationTime.Before(now.UTC())
}

// setHash hashes the fields Nomad hashes (Nomad uses BLAKE2b-256; the
// value is opaque to clients, so SHA-256 is used here).
func (t *aclToken) setHash() {
	h := sha256.New()
	h.Write([]byte(t.Name))
	h.Write([]byte(t.Type))
	for _, p := range t.Policies {
		h.Write([]byte(p))
	}
	if t.Global {
		h.Write([]byte("global"))
	} else {
		h.Write([]byte("local"))
	}
	for _, l := range t.Roles {
		h.Write([]byte(l.ID))
	}
	t.Hash = h.Sum(nil)
}

// jobACL is structs.JobACL.
type jobACL struct {
	Namespace string
	JobID     string
	Group     string
	Task      string
}

// aclPolicy is structs.ACLPolicy.
type aclPolicy struct {
	Name        string
	Description string
	Rules       string
	RulesJSON   any
	JobACL      *jobACL
	Hash        []byte
	CreateIndex uint64
	ModifyIndex uint64
}

// policyStub is structs.ACLPolicyListStub.
type policyStub struct {
	Name        string
	Description string
	JobACL      *jobACL
	Hash        []byte
	CreateIndex uint64
	ModifyIndex uint64
}

func (p *aclPolicy) stub() *policyStub {
	return &policyStub{p.Name, p.Description, p.JobACL, p.Hash, p.CreateIndex, p.ModifyIndex}
}

func (p *aclPolicy) setHash() {
	h := sha256.New()
	h.Write([]byte(p.Name))
	h.Write([]byte(p.Description))
	h.Write([]byte(p.Rules))
	if p.JobACL != nil {
		h.Write([]byte(p.JobACL.Namespace + p.JobACL.JobID + p.JobACL.Group + p.JobACL.Task))
	}
	p.Hash = h.Sum(nil)
}

// policyLink is structs.ACLRolePolicyLink.
type policyLink struct {
	Name string
}

// aclRole is structs.ACLRole; its list stub has the same fields.
type aclRole struct {
	ID          string
	Name        string
	Description string
	Policies    []*policyLink
	Hash        []byte
	CreateIndex uint64
	ModifyIndex uint64
}

func (r *aclRole) clone() *aclRole {
	c := *r
	if r.Policies != nil {
		c.Policies = make([]*policyLink, len(r.Policies))
		for i, l := range r.Policies {
			cp := *l
			c.Policies[i] = &cp
		}
	}
	c.Hash = append([]byte(nil), r.Hash...)
	return &c
}

func (r *aclRole) setHash() {
	h := sha256.New()
	h.Write([]byte(r.Name))
	h.Write([]byte(r.Description))
	for _, l := range r.Policies {
		h.Write([]byte(l.Name))
	}
	r.Hash = h.Sum(nil)
}
