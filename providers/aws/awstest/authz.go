package awstest

import (
	"encoding/json"
	"strings"
)

// IAM authorization, emulated when Options.EnforcePolicies (or
// SetEnforcePolicies) is on. Each request of an IAM user is allowed only
// if the user's own policies (inline and attached managed) allow its
// action on its resource, no statement denies it, and the user's
// permissions boundary, if any, allows it too: the evaluation logic of
// the IAM User Guide ("Policy evaluation logic": an explicit deny wins,
// an allow is needed, everything else is implicitly denied; "Permissions
// boundaries for IAM entities": the effective permissions are the
// intersection). Sessions of roles are denied every action (roles carry
// no permission policies in this emulator). sts:GetCallerIdentity is never
// denied: "No permissions are required to perform this operation"
// (STS API Reference, GetCallerIdentity).
//
// A refusal is IAM's answer: HTTP 403, code AccessDenied, and a message
// in the format of the IAM User Guide ("Troubleshoot access denied error
// messages") as AWS sends it, e.g.
//
//	User: arn:aws:iam::123456789012:user/vault is not authorized to perform: iam:CreateUser
//	on resource: arn:aws:iam::123456789012:user/vault-x because no identity-based policy
//	allows the iam:CreateUser action
//
// with "... with an explicit deny in an identity-based policy" and
// "... because no permissions boundary allows the iam:CreateUser action"
// for the other two cases.
//
// The resource of each action is the one the Service Authorization
// Reference lists for it ("Actions, resources, and condition keys for
// AWS Identity and Access Management" and "... for AWS Security Token
// Service"): the user for user actions (named by UserName, else the
// caller, with the user's path in its ARN), the group for group actions
// including AddUserToGroup and RemoveUserFromGroup, the policy, the role,
// the MFA device; sts:AssumeRole's is the role. CreateUser, CreateRole and
// CreatePolicy with Tags also need iam:TagUser, iam:TagRole and
// iam:TagPolicy on the new entity, as IAM requires of tag-on-create.
//
// Policy language supported: Effect, Action/NotAction and
// Resource/NotResource with the * and ? wildcards (actions matched
// without regard to case), and the ${aws:username} variable in
// resources. A statement with a Condition is not evaluated (it neither
// allows nor denies): tests that need conditions need a real account.

// authzOps maps an action to how its resource is named.
var authzOps = map[string]resourceKind{
	"CreateUser": resUser, "GetUser": resUser, "DeleteUser": resUser, "ListUsers": resUserPath,
	"TagUser": resUser, "UntagUser": resUser, "ListUserTags": resUser,
	"AttachUserPolicy": resUser, "DetachUserPolicy": resUser, "ListAttachedUserPolicies": resUser,
	"PutUserPolicy": resUser, "GetUserPolicy": resUser, "DeleteUserPolicy": resUser, "ListUserPolicies": resUser,
	"ListGroupsForUser": resUser,
	"CreateAccessKey":   resUser, "DeleteAccessKey": resUser, "ListAccessKeys": resUser, "UpdateAccessKey": resUser,
	"CreateLoginProfile": resUser, "GetLoginProfile": resUser, "DeleteLoginProfile": resUser,
	"EnableMFADevice": resUser, "DeactivateMFADevice": resUser, "ListMFADevices": resUser,
	"UploadSSHPublicKey": resUser, "DeleteSSHPublicKey": resUser, "ListSSHPublicKeys": resUser,
	"UploadSigningCertificate": resUser, "DeleteSigningCertificate": resUser, "ListSigningCertificates": resUser,
	"CreateServiceSpecificCredential": resUser, "DeleteServiceSpecificCredential": resUser, "ListServiceSpecificCredentials": resUser,
	"CreateGroup": resGroup, "GetGroup": resGroup, "DeleteGroup": resGroup,
	"AddUserToGroup": resGroup, "RemoveUserFromGroup": resGroup,
	"CreatePolicy": resPolicy, "GetPolicy": resPolicy, "DeletePolicy": resPolicy,
	"CreateRole": resRole, "GetRole": resRole, "DeleteRole": resRole,
	"CreateVirtualMFADevice": resMFA, "DeleteVirtualMFADevice": resMFA,
	"AssumeRole": resRoleARN,
	// No resource type: the action reads the whole account.
	"GetAccountAuthorizationDetails": resAccount,
}

// tagOnCreate is the tagging action a create with Tags also needs.
var tagOnCreate = map[string]string{"CreateUser": "TagUser", "CreateRole": "TagRole", "CreatePolicy": "TagPolicy"}

type resourceKind int

const (
	resUser resourceKind = iota + 1
	resUserPath
	resGroup
	resPolicy
	resRole
	resMFA
	resRoleARN
	resAccount
)

// SetEnforcePolicies turns the emulation of IAM authorization on or off
// (see Options.EnforcePolicies).
func (s *Server) SetEnforcePolicies(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enforce = on
}

// authorizeLocked returns IAM's AccessDenied answer when the caller may not
// make the call, nil otherwise.
func (c *call) authorizeLocked() *apiError {
	if !c.s.enforce || c.action == "GetCallerIdentity" {
		return nil
	}
	svc := "iam:"
	if c.action == "AssumeRole" {
		svc = "sts:"
	}
	resource := c.resourceARN()
	if err := c.authorizeAction(svc+c.action, resource); err != nil {
		return err
	}
	if tag, ok := tagOnCreate[c.action]; ok && c.p.Get("Tags.member.1.Key") != "" {
		return c.authorizeAction("iam:"+tag, resource)
	}
	return nil
}

// authorizeAction evaluates the caller's policies for one action.
func (c *call) authorizeAction(action, resource string) *apiError {
	callerARN, _ := c.callerARN()
	deny := func(why string) *apiError {
		return errAccessDenied("User: %s is not authorized to perform: %s on resource: %s %s", callerARN, action, resource, why)
	}
	var docs []string
	boundary := ""
	vars := map[string]string{}
	if c.caller.session == nil {
		u, ok := c.w.users[c.caller.userKey]
		if !ok {
			return deny("because no identity-based policy allows the " + action + " action")
		}
		vars["aws:username"] = u.name
		for _, name := range u.inlineOrder {
			docs = append(docs, u.inline[name])
		}
		for _, arn := range u.managed {
			if p, ok := c.w.policies[arn]; ok {
				docs = append(docs, p.document)
			}
		}
		if p, ok := c.w.policies[u.boundary]; ok {
			boundary = p.document
		}
	}
	switch evaluate(docs, action, resource, vars) {
	case decisionDeny:
		return deny("with an explicit deny in an identity-based policy")
	case decisionNone:
		return deny("because no identity-based policy allows the " + action + " action")
	}
	if boundary != "" && evaluate([]string{boundary}, action, resource, vars) != decisionAllow {
		return deny("because no permissions boundary allows the " + action + " action")
	}
	return nil
}

// resourceARN names the resource of the call's action.
func (c *call) resourceARN() string {
	acct := c.w.account
	arn := func(kind, path, name string) string {
		if path == "" {
			path = "/"
		}
		return "arn:aws:iam::" + acct + ":" + kind + path + name
	}
	switch authzOps[c.action] {
	case resUser:
		name := c.param("UserName")
		if name == "" {
			if u, ok := c.w.users[c.caller.userKey]; ok && c.caller.session == nil {
				return u.arn
			}
			return "*"
		}
		if u, ok := c.w.users[lower(name)]; ok {
			return u.arn
		}
		return arn("user", c.param("Path"), name)
	case resUserPath:
		return arn("user", c.param("PathPrefix"), "")
	case resGroup:
		name := c.param("GroupName")
		if g, ok := c.w.groups[lower(name)]; ok {
			return g.arn
		}
		return arn("group", c.param("Path"), name)
	case resPolicy:
		if a := c.param("PolicyArn"); a != "" {
			return a
		}
		return arn("policy", c.param("Path"), c.param("PolicyName"))
	case resRole:
		name := c.param("RoleName")
		if r, ok := c.w.roles[lower(name)]; ok {
			return r.arn
		}
		return arn("role", c.param("Path"), name)
	case resMFA:
		if s := c.param("SerialNumber"); s != "" {
			return s
		}
		return arn("mfa", c.param("Path"), c.param("VirtualMFADeviceName"))
	case resRoleARN:
		return c.param("RoleArn")
	case resAccount:
		return "*"
	}
	return "*"
}

type decision int

const (
	decisionNone decision = iota
	decisionAllow
	decisionDeny
)

// evaluate applies the statements of docs to one request.
func evaluate(docs []string, action, resource string, vars map[string]string) decision {
	allowed := false
	for _, doc := range docs {
		for _, st := range statements(doc) {
			if _, cond := st["Condition"]; cond || !matchesAny(st, "Action", "NotAction", action, true, nil) ||
				!matchesAny(st, "Resource", "NotResource", resource, false, vars) {
				continue
			}
			var effect string
			_ = json.Unmarshal(st["Effect"], &effect)
			switch effect {
			case "Deny":
				return decisionDeny
			case "Allow":
				allowed = true
			}
		}
	}
	if allowed {
		return decisionAllow
	}
	return decisionNone
}

// statements returns the statements of a policy document (one object or a
// list); a document that does not parse has none.
func statements(doc string) []map[string]json.RawMessage {
	var p struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return nil
	}
	var list []map[string]json.RawMessage
	if json.Unmarshal(p.Statement, &list) == nil {
		return list
	}
	var one map[string]json.RawMessage
	if json.Unmarshal(p.Statement, &one) == nil {
		return []map[string]json.RawMessage{one}
	}
	return nil
}

// matchesAny reports whether value matches the statement's key (or, for
// notKey, matches none of its patterns).
func matchesAny(st map[string]json.RawMessage, key, notKey, value string, fold bool, vars map[string]string) bool {
	raw, positive := st[key]
	if !positive {
		raw = st[notKey]
	}
	patterns, err := stringOrList(raw, nil)
	if err != nil {
		return false
	}
	hit := false
	for _, p := range patterns {
		for k, v := range vars {
			p = strings.ReplaceAll(p, "${"+k+"}", v)
		}
		if fold {
			hit = hit || wildcardMatch(strings.ToLower(p), strings.ToLower(value))
		} else {
			hit = hit || wildcardMatch(p, value)
		}
	}
	return hit == positive
}

// wildcardMatch matches s against pattern, where * is any run of
// characters and ? any one character.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
