package awstest

import (
	"strconv"
	"unicode/utf8"
)

// Role session duration bounds (seconds): a role's MaxSessionDuration is
// the model's roleMaxSessionDurationType, 3600 to 43200, and "if you do
// not specify a value for this setting, the default value of one hour is
// applied" (aws-sdk-go models/apis/iam/2010-05-08/api-2.json and
// docs-2.json, CreateRole MaxSessionDuration).
const (
	defaultMaxSession = 3600
	maxMaxSession     = 43200
)

type xmlRole struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	Arn                      string           `xml:"Arn"`
	CreateDate               string           `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument"`
	Description              string           `xml:"Description,omitempty"`
	MaxSessionDuration       int              `xml:"MaxSessionDuration"`
	PermissionsBoundary      *xmlBoundary     `xml:"PermissionsBoundary,omitempty"`
	Tags                     *members[xmlTag] `xml:"Tags,omitempty"`
}

func roleXML(r *role) xmlRole {
	return xmlRole{Path: r.path, RoleName: r.name, RoleID: r.id, Arn: r.arn, CreateDate: awsTime(r.created),
		AssumeRolePolicyDocument: escapeDocument(r.trust), Description: r.description,
		MaxSessionDuration: r.maxSession, PermissionsBoundary: boundaryXML(r.boundary), Tags: tagsXML(r.tags)}
}

func opCreateRole(c *call) (any, *apiError) {
	name, err := c.name("RoleName", "roleName", 64)
	if err != nil {
		return nil, err
	}
	path, err := c.path()
	if err != nil {
		return nil, err
	}
	trust := c.param("AssumeRolePolicyDocument")
	if err := checkDocumentParam("assumeRolePolicyDocument", trust, trustPolicy); err != nil {
		return nil, err
	}
	if policySize(trust) > maxTrustPolicy {
		return nil, errQuota("ACLSizePerRole", maxTrustPolicy)
	}
	desc := c.param("Description")
	if utf8.RuneCountInString(desc) > 1000 {
		return nil, errValidation("description", desc, "Member must have length less than or equal to 1000")
	}
	maxSession := defaultMaxSession
	if v := c.param("MaxSessionDuration"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < defaultMaxSession || n > maxMaxSession {
			return nil, errValidation("maxSessionDuration", v, "Member must have value between 3600 and 43200")
		}
		maxSession = n
	}
	tags, err := c.tags()
	if err != nil {
		return nil, err
	}
	var boundary *policy
	if c.param("PermissionsBoundary") != "" {
		arn, err := c.policyARN("PermissionsBoundary", "permissionsBoundary")
		if err != nil {
			return nil, err
		}
		if boundary, err = c.attachablePolicy(arn); err != nil {
			return nil, err
		}
	}
	if _, ok := c.w.roles[lower(name)]; ok {
		return nil, errAlreadyExists("Role with name %s already exists.", name)
	}
	r := &role{name: name, path: path, id: newID("AROA", 17), trust: trust, description: desc,
		maxSession: maxSession, created: c.now, tags: tags,
		arn: "arn:aws:iam::" + c.w.account + ":role" + path + name}
	if boundary != nil {
		boundary.boundaryUses++
		r.boundary = boundary.arn
	}
	c.w.roles[lower(name)] = r
	return struct {
		Role xmlRole `xml:"Role"`
	}{roleXML(r)}, nil
}

func (c *call) role() (*role, *apiError) {
	name, err := c.name("RoleName", "roleName", 64)
	if err != nil {
		return nil, err
	}
	r, ok := c.w.roles[lower(name)]
	if !ok {
		return nil, errNoSuchEntity("The role with name %s cannot be found.", name)
	}
	return r, nil
}

func opGetRole(c *call) (any, *apiError) {
	r, err := c.role()
	if err != nil {
		return nil, err
	}
	return struct {
		Role xmlRole `xml:"Role"`
	}{roleXML(r)}, nil
}

func opDeleteRole(c *call) (any, *apiError) {
	r, err := c.role()
	if err != nil {
		return nil, err
	}
	if p, ok := c.w.policies[r.boundary]; ok {
		p.boundaryUses--
	}
	delete(c.w.roles, lower(r.name))
	return nil, nil
}
