package awstest

import "strings"

// GetAccountAuthorizationDetails, as the IAM API model and reference
// describe it (aws-sdk-go models/apis/iam/2010-05-08/api-2.json and
// docs-2.json; IAM API Reference, GetAccountAuthorizationDetails):
//
//   - Filter.member.N takes EntityType values (User, Role, Group,
//     LocalManagedPolicy, AWSManagedPolicy); only the entities of the
//     listed types are returned; no Filter returns every type. Another
//     value is a ValidationError.
//   - MaxItems (1 to 1000, default 100) and Marker page through the
//     entities of every listed type together; IsTruncated and Marker say
//     whether more follow ("IAM might return fewer than the MaxItems
//     number of results even when there are more results available"):
//     here pages are at most Options.PageSize long, as for every List*.
//   - UserDetailList (userDetailListType) holds UserDetail: Path,
//     UserName, UserId, Arn, CreateDate, UserPolicyList (PolicyDetail:
//     PolicyName, PolicyDocument), GroupList (group names),
//     AttachedManagedPolicies (PolicyName, PolicyArn), PermissionsBoundary
//     and Tags. Unlike ListUsers ("This operation does not return ...
//     Tags"), it carries each user's tags.
//   - GroupDetailList, RoleDetailList and Policies hold GroupDetail,
//     RoleDetail and ManagedPolicyDetail (with PolicyVersionList).
//   - "Policies returned by this operation are URL-encoded compliant with
//     RFC 3986": every policy document is URL-encoded.
//   - The action has no resource type (Service Authorization Reference,
//     "Actions, resources, and condition keys for AWS Identity and Access
//     Management"): a policy allows it with Resource "*".
//
// The order of entities across types is not documented; this emulator
// returns users, then groups, roles and policies, each sorted by name.
// Which AWS managed policies are returned is not documented either; this
// emulator returns all of its fixtures.

// entityTypes are the values of the model's EntityType enum.
var entityTypes = []string{"User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"}

type xmlPolicyDetail struct {
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type xmlUserDetail struct {
	Path                    string                     `xml:"Path"`
	UserName                string                     `xml:"UserName"`
	UserID                  string                     `xml:"UserId"`
	Arn                     string                     `xml:"Arn"`
	CreateDate              string                     `xml:"CreateDate"`
	UserPolicyList          members[xmlPolicyDetail]   `xml:"UserPolicyList"`
	GroupList               members[string]            `xml:"GroupList"`
	AttachedManagedPolicies members[xmlAttachedPolicy] `xml:"AttachedManagedPolicies"`
	PermissionsBoundary     *xmlBoundary               `xml:"PermissionsBoundary,omitempty"`
	Tags                    members[xmlTag]            `xml:"Tags"`
}

type xmlGroupDetail struct {
	Path                    string                     `xml:"Path"`
	GroupName               string                     `xml:"GroupName"`
	GroupID                 string                     `xml:"GroupId"`
	Arn                     string                     `xml:"Arn"`
	CreateDate              string                     `xml:"CreateDate"`
	GroupPolicyList         members[xmlPolicyDetail]   `xml:"GroupPolicyList"`
	AttachedManagedPolicies members[xmlAttachedPolicy] `xml:"AttachedManagedPolicies"`
}

type xmlRoleDetail struct {
	Path                     string                     `xml:"Path"`
	RoleName                 string                     `xml:"RoleName"`
	RoleID                   string                     `xml:"RoleId"`
	Arn                      string                     `xml:"Arn"`
	CreateDate               string                     `xml:"CreateDate"`
	AssumeRolePolicyDocument string                     `xml:"AssumeRolePolicyDocument"`
	InstanceProfileList      members[struct{}]          `xml:"InstanceProfileList"`
	RolePolicyList           members[xmlPolicyDetail]   `xml:"RolePolicyList"`
	AttachedManagedPolicies  members[xmlAttachedPolicy] `xml:"AttachedManagedPolicies"`
	PermissionsBoundary      *xmlBoundary               `xml:"PermissionsBoundary,omitempty"`
	Tags                     members[xmlTag]            `xml:"Tags"`
}

type xmlPolicyVersion struct {
	Document         string `xml:"Document"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

type xmlManagedPolicyDetail struct {
	PolicyName                    string                    `xml:"PolicyName"`
	PolicyID                      string                    `xml:"PolicyId"`
	Arn                           string                    `xml:"Arn"`
	Path                          string                    `xml:"Path"`
	DefaultVersionID              string                    `xml:"DefaultVersionId"`
	AttachmentCount               int                       `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int                       `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool                      `xml:"IsAttachable"`
	Description                   string                    `xml:"Description,omitempty"`
	CreateDate                    string                    `xml:"CreateDate"`
	UpdateDate                    string                    `xml:"UpdateDate"`
	PolicyVersionList             members[xmlPolicyVersion] `xml:"PolicyVersionList"`
}

type xmlAuthDetails struct {
	UserDetailList  members[xmlUserDetail]          `xml:"UserDetailList"`
	GroupDetailList members[xmlGroupDetail]         `xml:"GroupDetailList"`
	RoleDetailList  members[xmlRoleDetail]          `xml:"RoleDetailList"`
	Policies        members[xmlManagedPolicyDetail] `xml:"Policies"`
	pageXML
}

func opGetAccountAuthorizationDetails(c *call) (any, *apiError) {
	want := map[string]bool{}
	filter := c.indexed("Filter.member", "")
	for _, f := range filter {
		ok := false
		for _, t := range entityTypes {
			ok = ok || f == t
		}
		if !ok {
			return nil, errValidation("filter", "["+strings.Join(filter, ", ")+"]",
				"Member must satisfy constraint: [Member must satisfy enum value set: ["+strings.Join(entityTypes, ", ")+"]]")
		}
		want[f] = true
	}
	all := len(filter) == 0

	// One sorted key space over every listed type, so one Marker pages
	// through all of them: "u/" users, "g/" groups, "r/" roles, "p/"
	// policies (the prefixes sort in that order after the digit).
	var keys []string
	add := func(prefix string, names []string) {
		for _, n := range names {
			keys = append(keys, prefix+n)
		}
	}
	if all || want["User"] {
		add("1u/", sortedKeys(c.w.users))
	}
	if all || want["Group"] {
		add("2g/", sortedKeys(c.w.groups))
	}
	if all || want["Role"] {
		add("3r/", sortedKeys(c.w.roles))
	}
	for _, arn := range sortedKeys(c.w.policies) {
		p := c.w.policies[arn]
		if all || p.awsManaged && want["AWSManagedPolicy"] || !p.awsManaged && want["LocalManagedPolicy"] {
			keys = append(keys, "4p/"+arn)
		}
	}

	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	out := xmlAuthDetails{pageXML: pg}
	for _, k := range keys[start:end] {
		kind, name, _ := strings.Cut(k, "/")
		switch kind {
		case "1u":
			out.UserDetailList.Member = append(out.UserDetailList.Member, c.userDetail(c.w.users[name]))
		case "2g":
			g := c.w.groups[name]
			out.GroupDetailList.Member = append(out.GroupDetailList.Member, xmlGroupDetail{
				Path: g.path, GroupName: g.name, GroupID: g.id, Arn: g.arn, CreateDate: awsTime(g.created)})
		case "3r":
			r := c.w.roles[name]
			out.RoleDetailList.Member = append(out.RoleDetailList.Member, xmlRoleDetail{
				Path: r.path, RoleName: r.name, RoleID: r.id, Arn: r.arn, CreateDate: awsTime(r.created),
				AssumeRolePolicyDocument: escapeDocument(r.trust), PermissionsBoundary: boundaryXML(r.boundary),
				Tags: list(tagList(r.tags))})
		case "4p":
			p := c.w.policies[name]
			out.Policies.Member = append(out.Policies.Member, xmlManagedPolicyDetail{
				PolicyName: p.name, PolicyID: p.id, Arn: p.arn, Path: p.path, DefaultVersionID: "v1",
				AttachmentCount: p.attachments, PermissionsBoundaryUsageCount: p.boundaryUses, IsAttachable: true,
				Description: p.description, CreateDate: awsTime(p.created), UpdateDate: awsTime(p.created),
				PolicyVersionList: list([]xmlPolicyVersion{{Document: escapeDocument(p.document), VersionID: "v1",
					IsDefaultVersion: true, CreateDate: awsTime(p.created)}})})
		}
	}
	return out, nil
}

// userDetail is one UserDetail of account c.w.
func (c *call) userDetail(u *user) xmlUserDetail {
	d := xmlUserDetail{Path: u.path, UserName: u.name, UserID: u.id, Arn: u.arn, CreateDate: awsTime(u.created),
		PermissionsBoundary: boundaryXML(u.boundary), Tags: list(tagList(u.tags))}
	for _, name := range u.inlineOrder {
		if doc, ok := u.inline[name]; ok {
			d.UserPolicyList.Member = append(d.UserPolicyList.Member, xmlPolicyDetail{PolicyName: name, PolicyDocument: escapeDocument(doc)})
		}
	}
	for _, g := range u.groups {
		if grp, ok := c.w.groups[g]; ok {
			d.GroupList.Member = append(d.GroupList.Member, grp.name)
		}
	}
	for _, arn := range u.managed {
		if p, ok := c.w.policies[arn]; ok {
			d.AttachedManagedPolicies.Member = append(d.AttachedManagedPolicies.Member, xmlAttachedPolicy{PolicyName: p.name, PolicyArn: arn})
		}
	}
	return d
}

func tagList(tags []Tag) []xmlTag {
	out := make([]xmlTag, len(tags))
	for i, t := range tags {
		out[i] = xmlTag(t)
	}
	return out
}
