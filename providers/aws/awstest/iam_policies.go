package awstest

import (
	"strings"
	"unicode/utf8"
)

// Per-user quotas from IAM's documentation ("IAM and AWS STS quotas" in
// the IAM User Guide): managed policies attached to a user default to 10
// and can be raised to 20 through Service Quotas (Options.
// ManagedPoliciesPerUser); groups per user 10; access keys per user 2.
const (
	defaultManagedPerUser   = 10
	maxManagedPerUserRaised = 20
	maxGroupsPerUser        = 10
	maxKeysPerUser          = 2
)

type xmlAttachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type xmlPolicy struct {
	PolicyName                    string           `xml:"PolicyName"`
	PolicyID                      string           `xml:"PolicyId"`
	Arn                           string           `xml:"Arn"`
	Path                          string           `xml:"Path"`
	DefaultVersionID              string           `xml:"DefaultVersionId"`
	AttachmentCount               int              `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int              `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool             `xml:"IsAttachable"`
	Description                   string           `xml:"Description,omitempty"`
	CreateDate                    string           `xml:"CreateDate"`
	UpdateDate                    string           `xml:"UpdateDate"`
	Tags                          *members[xmlTag] `xml:"Tags,omitempty"`
}

func policyXML(p *policy) xmlPolicy {
	return xmlPolicy{PolicyName: p.name, PolicyID: p.id, Arn: p.arn, Path: p.path, DefaultVersionID: "v1",
		AttachmentCount: p.attachments, PermissionsBoundaryUsageCount: p.boundaryUses, IsAttachable: true,
		Description: p.description, CreateDate: awsTime(p.created), UpdateDate: awsTime(p.created), Tags: tagsXML(p.tags)}
}

func opAttachUserPolicy(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	arn, err := c.policyARN("PolicyArn", "policyArn")
	if err != nil {
		return nil, err
	}
	p, err := c.attachablePolicy(arn)
	if err != nil {
		return nil, err
	}
	for _, a := range u.managed {
		if a == arn {
			return nil, nil // attaching twice is a no-op, as in IAM
		}
	}
	if quota := c.s.opts.ManagedPoliciesPerUser; len(u.managed) >= quota {
		return nil, errQuota("PoliciesPerUser", quota)
	}
	u.managed = append(u.managed, arn)
	p.attachments++
	return nil, nil
}

func opDetachUserPolicy(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	arn, err := c.policyARN("PolicyArn", "policyArn")
	if err != nil {
		return nil, err
	}
	rest, found := removeString(u.managed, arn)
	if !found {
		return nil, errNoSuchEntity("Policy %s was not found.", arn)
	}
	u.managed = rest
	if p, ok := c.w.policies[arn]; ok {
		p.attachments--
	}
	return nil, nil
}

func opListAttachedUserPolicies(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	prefix := c.param("PathPrefix")
	var keys []string
	for _, arn := range sortedCopy(u.managed) {
		if p, ok := c.w.policies[arn]; ok && strings.HasPrefix(p.path, prefix) {
			keys = append(keys, arn)
		}
	}
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	out := []xmlAttachedPolicy{}
	for _, arn := range keys[start:end] {
		out = append(out, xmlAttachedPolicy{PolicyName: c.w.policies[arn].name, PolicyArn: arn})
	}
	return struct {
		AttachedPolicies members[xmlAttachedPolicy] `xml:"AttachedPolicies"`
		pageXML
	}{list(out), pg}, nil
}

func opPutUserPolicy(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	name, err := c.name("PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	doc := c.param("PolicyDocument")
	if err := checkDocumentParam("policyDocument", doc, identityPolicy); err != nil {
		return nil, err
	}
	total := policySize(doc)
	for n, d := range u.inline {
		if n != name {
			total += policySize(d)
		}
	}
	if total > maxUserInlineTotal {
		return nil, errLimitExceeded("Maximum policy size of %d bytes exceeded for user %s", maxUserInlineTotal, u.name)
	}
	if _, ok := u.inline[name]; !ok {
		u.inlineOrder = append(u.inlineOrder, name)
	}
	u.inline[name] = doc
	return nil, nil
}

func (c *call) inlinePolicy(u *user) (string, *apiError) {
	name, err := c.name("PolicyName", "policyName", 128)
	if err != nil {
		return "", err
	}
	if _, ok := u.inline[name]; !ok {
		return "", errNoSuchEntity("The user policy with name %s cannot be found.", name)
	}
	return name, nil
}

func opGetUserPolicy(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	name, err := c.inlinePolicy(u)
	if err != nil {
		return nil, err
	}
	return struct {
		UserName       string `xml:"UserName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}{u.name, name, escapeDocument(u.inline[name])}, nil
}

func opDeleteUserPolicy(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	name, err := c.inlinePolicy(u)
	if err != nil {
		return nil, err
	}
	delete(u.inline, name)
	u.inlineOrder, _ = removeString(u.inlineOrder, name)
	return nil, nil
}

func opListUserPolicies(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	keys := sortedKeys(u.inline)
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	return struct {
		PolicyNames members[string] `xml:"PolicyNames"`
		pageXML
	}{list(append([]string{}, keys[start:end]...)), pg}, nil
}

func opCreatePolicy(c *call) (any, *apiError) {
	name, err := c.name("PolicyName", "policyName", 128)
	if err != nil {
		return nil, err
	}
	path, err := c.path()
	if err != nil {
		return nil, err
	}
	desc := c.param("Description")
	if utf8.RuneCountInString(desc) > 1000 {
		return nil, errValidation("description", desc, "Member must have length less than or equal to 1000")
	}
	doc := c.param("PolicyDocument")
	if err := checkDocumentParam("policyDocument", doc, identityPolicy); err != nil {
		return nil, err
	}
	if policySize(doc) > maxManagedPolicy {
		return nil, errQuota("PolicySize", maxManagedPolicy)
	}
	tags, err := c.tags()
	if err != nil {
		return nil, err
	}
	for _, p := range c.w.policies {
		if !p.awsManaged && strings.EqualFold(p.name, name) {
			return nil, errAlreadyExists("A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	arn := "arn:aws:iam::" + c.w.account + ":policy" + path + name
	p := &policy{name: name, path: path, id: newID("ANPA", 17), arn: arn, description: desc,
		document: doc, created: c.now, tags: tags}
	c.w.policies[arn] = p
	x := policyXML(p)
	x.Description = ""
	return struct {
		Policy xmlPolicy `xml:"Policy"`
	}{x}, nil
}

func (c *call) policyByARN() (*policy, *apiError) {
	arn, err := c.policyARN("PolicyArn", "policyArn")
	if err != nil {
		return nil, err
	}
	p, ok := c.w.policies[arn]
	if !ok {
		return nil, errNoSuchEntity("Policy %s was not found.", arn)
	}
	return p, nil
}

func opGetPolicy(c *call) (any, *apiError) {
	p, err := c.policyByARN()
	if err != nil {
		return nil, err
	}
	return struct {
		Policy xmlPolicy `xml:"Policy"`
	}{policyXML(p)}, nil
}

func opDeletePolicy(c *call) (any, *apiError) {
	p, err := c.policyByARN()
	if err != nil {
		return nil, err
	}
	if p.awsManaged {
		return nil, errAccessDenied("User is not authorized to perform: iam:DeletePolicy on resource: policy %s", p.arn)
	}
	if p.attachments > 0 || p.boundaryUses > 0 {
		return nil, errDeleteConflict("Cannot delete a policy attached to entities.")
	}
	delete(c.w.policies, p.arn)
	return nil, nil
}
