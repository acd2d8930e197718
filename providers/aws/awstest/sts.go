package awstest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// STS AssumeRole bounds.
const (
	minSessionDuration   = 900
	chainedRoleMaxTime   = 3600
	maxSessionPolicyARNs = 10
)

var (
	reSessionName = regexp.MustCompile(`^[\w+=,.@-]*$`)
	reRoleARN     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role(/|/[\x21-\x7E]*/)([\w+=,.@-]+)$`)
)

// callerARN is the ARN of whoever signed the request.
func (c *call) callerARN() (arn, userID string) {
	if ss := c.caller.session; ss != nil {
		return "arn:aws:sts::" + c.w.account + ":assumed-role/" + ss.roleName + "/" + ss.sessionName,
			ss.roleID + ":" + ss.sessionName
	}
	if u, ok := c.w.users[c.caller.userKey]; ok {
		return u.arn, u.id
	}
	return "arn:aws:iam::" + c.w.account + ":user/" + c.caller.userKey, ""
}

func opGetCallerIdentity(c *call) (any, *apiError) {
	arn, id := c.callerARN()
	return struct {
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
		Arn     string `xml:"Arn"`
	}{id, c.w.account, arn}, nil
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type xmlAssumeRoleResult struct {
	Credentials     xmlCredentials `xml:"Credentials"`
	AssumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	} `xml:"AssumedRoleUser"`
	PackedPolicySize *int `xml:"PackedPolicySize,omitempty"`
}

func opAssumeRole(c *call) (any, *apiError) {
	roleARN, err := c.required("RoleArn", "roleArn")
	if err != nil {
		return nil, err
	}
	if len(roleARN) < 20 || len(roleARN) > 2048 {
		return nil, errValidation("roleArn", roleARN, "Member must have length between 20 and 2048")
	}
	sessName, err := c.required("RoleSessionName", "roleSessionName")
	if err != nil {
		return nil, err
	}
	if n := len(sessName); n < 2 || n > 64 {
		return nil, errValidation("roleSessionName", sessName, "Member must have length between 2 and 64")
	}
	if !reSessionName.MatchString(sessName) {
		return nil, errValidation("roleSessionName", sessName, `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	duration := defaultMaxSession
	if v := c.param("DurationSeconds"); v != "" {
		n, perr := strconv.Atoi(v)
		switch {
		case perr != nil || n < minSessionDuration:
			return nil, errValidation("durationSeconds", v, "Member must have value greater than or equal to 900")
		case n > maxMaxSession:
			return nil, errValidation("durationSeconds", v, "Member must have value less than or equal to 43200")
		}
		duration = n
	}
	packed, err := c.sessionPolicies()
	if err != nil {
		return nil, err
	}

	callerARN, _ := c.callerARN()
	denied := errAccessDenied("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", callerARN, roleARN)
	m := reRoleARN.FindStringSubmatch(roleARN)
	if m == nil {
		return nil, errValidationMsg("%s is invalid", roleARN)
	}
	// The role lives in the account its ARN names, which may be another
	// account of this server (cross-account access): its trust policy
	// must then name the caller or the caller's account.
	tw := c.s.accounts[m[1]]
	if tw == nil {
		return nil, denied
	}
	r, ok := tw.roles[lower(m[3])]
	if !ok || r.arn != roleARN {
		return nil, denied
	}
	if !trustAllows(r.trust, c.w.account, callerARN, c.caller.session) {
		return nil, denied
	}
	// Durations above the role's MaxSessionDuration, and above one hour
	// for role chaining (a session assuming a role), are refused with 400
	// ValidationError and these messages: STS API Reference, AssumeRole,
	// DurationSeconds ("If you specify a value higher than this setting
	// ..., the operation fails"; "if you assume a role using role chaining
	// and provide a DurationSeconds parameter value greater than one hour,
	// the operation fails"), and STS's answers as reported by its users
	// (e.g. github.com/kreuzwerker/awsu issue 27: "ValidationError: The
	// requested DurationSeconds exceeds the MaxSessionDuration set for
	// this role. status code: 400"). Without DurationSeconds a session
	// lasts 3600 seconds ("By default, the value is set to 3600 seconds").
	switch {
	case c.caller.session != nil && duration > chainedRoleMaxTime:
		return nil, errValidationMsg("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case duration > r.maxSession:
		return nil, errValidationMsg("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	tw.pruneSessionsLocked(c.now)
	ss := &session{keyID: newID("ASIA", 16), secret: newSecret(), token: newSessionToken(),
		roleKey: lower(r.name), roleName: r.name, roleArn: r.arn, roleID: r.id, sessionName: sessName,
		expires: c.now.Add(time.Duration(duration) * time.Second)}
	tw.sessions[ss.keyID] = ss
	res := xmlAssumeRoleResult{Credentials: xmlCredentials{ss.keyID, ss.secret, ss.token,
		ss.expires.UTC().Format("2006-01-02T15:04:05Z")}, PackedPolicySize: packed}
	res.AssumedRoleUser.AssumedRoleID = r.id + ":" + sessName
	res.AssumedRoleUser.Arn = "arn:aws:sts::" + tw.account + ":assumed-role/" + r.name + "/" + sessName
	return res, nil
}

// sessionPolicies validates Policy and PolicyArns.member.N.arn and returns
// the packed policy size (percent of STS's packed limit) when any was given.
func (c *call) sessionPolicies() (*int, *apiError) {
	doc := c.param("Policy")
	arns := c.indexed("PolicyArns.member", "arn")
	if len(arns) > maxSessionPolicyARNs {
		return nil, errValidation("policyArns", "", "Member must have length less than or equal to 10")
	}
	size := 0
	for _, a := range arns {
		if len(a) < 20 || len(a) > 2048 || !rePolicyARN.MatchString(a) {
			return nil, errValidation("policyArns.member.arn", a, "Member must be a valid policy ARN")
		}
		size += len(a)
	}
	if doc != "" {
		if len(doc) > maxSessionPolicy {
			return nil, errValidation("policy", "(policy)", "Member must have length less than or equal to 2048")
		}
		if err := validatePolicy(doc, identityPolicy); err != nil {
			return nil, err
		}
		size += policySize(doc)
	}
	if doc == "" && len(arns) == 0 {
		return nil, nil
	}
	pct := size * 100 / (2 * maxSessionPolicy)
	if pct > 100 {
		return nil, newErr(http.StatusBadRequest, "PackedPolicyTooLarge",
			"Packed policy consumes %d%% of allotted space, please use smaller policy.", pct)
	}
	return &pct, nil
}

// trustAllows evaluates a role's trust policy for an sts:AssumeRole call:
// some Allow statement must name the caller (its ARN, its account, the
// account root or "*") as an AWS principal, and no Deny statement may.
// Conditions are not evaluated.
func trustAllows(doc, account, callerARN string, sess *session) bool {
	var p struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return false
	}
	var stmts []map[string]json.RawMessage
	if json.Unmarshal(p.Statement, &stmts) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(p.Statement, &one) != nil {
			return false
		}
		stmts = []map[string]json.RawMessage{one}
	}
	names := map[string]bool{"*": true, account: true, "arn:aws:iam::" + account + ":root": true, callerARN: true}
	if sess != nil {
		names[sess.roleArn] = true
	}
	allowed := false
	for _, st := range stmts {
		var effect string
		_ = json.Unmarshal(st["Effect"], &effect)
		actions, _ := stringOrList(st["Action"], nil)
		matchesAction := false
		for _, a := range actions {
			a = lower(a)
			matchesAction = matchesAction || a == "*" || a == "sts:*" || a == "sts:assumerole"
		}
		if !matchesAction || !principalMatches(st["Principal"], names) {
			continue
		}
		if effect == "Deny" {
			return false
		}
		allowed = allowed || effect == "Allow"
	}
	return allowed
}

func principalMatches(raw json.RawMessage, names map[string]bool) bool {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		return star == "*"
	}
	var byType map[string]json.RawMessage
	if json.Unmarshal(raw, &byType) != nil {
		return false
	}
	list, _ := stringOrList(byType["AWS"], nil)
	for _, n := range list {
		if names[n] {
			return true
		}
	}
	return false
}

// pruneSessionsLocked forgets the expired STS sessions of account w.
func (w *world) pruneSessionsLocked(now time.Time) {
	for id, ss := range w.sessions {
		if !now.Before(ss.expires) {
			delete(w.sessions, id)
		}
	}
}

func newSessionToken() string {
	return "IQoJb3JpZ2luX2VjE" + strings.TrimRight(randString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 340), "/")
}
