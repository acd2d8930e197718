package awstest

import (
	"sort"
	"strings"
)

type xmlUser struct {
	Path                string           `xml:"Path"`
	UserName            string           `xml:"UserName"`
	UserID              string           `xml:"UserId"`
	Arn                 string           `xml:"Arn"`
	CreateDate          string           `xml:"CreateDate"`
	PermissionsBoundary *xmlBoundary     `xml:"PermissionsBoundary,omitempty"`
	Tags                *members[xmlTag] `xml:"Tags,omitempty"`
}

func userXML(u *user) xmlUser {
	return xmlUser{Path: u.path, UserName: u.name, UserID: u.id, Arn: u.arn, CreateDate: awsTime(u.created),
		PermissionsBoundary: boundaryXML(u.boundary), Tags: tagsXML(u.tags)}
}

// userFor returns the user named by the UserName parameter or, when it is
// absent and optional, the calling IAM user.
func (c *call) userFor(optional bool) (*user, *apiError) {
	name := c.param("UserName")
	if name == "" {
		if !optional {
			return nil, errValidation("userName", "", "Member must not be null")
		}
		if c.caller.userKey == "" {
			return nil, errValidationMsg("Must specify userName when calling with non-User credentials")
		}
		if u, ok := c.w.users[c.caller.userKey]; ok {
			return u, nil
		}
		return nil, errNoSuchEntity("The user with name %s cannot be found.", c.caller.userKey)
	}
	if err := checkName("userName", name, 128); err != nil {
		return nil, err
	}
	u, ok := c.w.users[lower(name)]
	if !ok {
		return nil, errNoSuchEntity("The user with name %s cannot be found.", name)
	}
	return u, nil
}

// attachablePolicy returns the managed policy with arn, or IAM's answer
// when there is none.
func (c *call) attachablePolicy(arn string) (*policy, *apiError) {
	p, ok := c.w.policies[arn]
	if !ok {
		return nil, errNoSuchEntity("Policy %s does not exist or is not attachable.", arn)
	}
	return p, nil
}

func opCreateUser(c *call) (any, *apiError) {
	name, err := c.name("UserName", "userName", 64)
	if err != nil {
		return nil, err
	}
	path, err := c.path()
	if err != nil {
		return nil, err
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
	if _, ok := c.w.users[lower(name)]; ok {
		return nil, errAlreadyExists("User with name %s already exists.", name)
	}
	u := &user{name: name, path: path, id: newID("AIDA", 17), arn: c.w.userARN(path, name), created: c.now,
		tags: tags, inline: map[string]string{}}
	if boundary != nil {
		boundary.boundaryUses++
		u.boundary = boundary.arn
	}
	c.w.users[lower(name)] = u
	return struct {
		User xmlUser `xml:"User"`
	}{userXML(u)}, nil
}

func opGetUser(c *call) (any, *apiError) {
	u, err := c.userFor(true)
	if err != nil {
		return nil, err
	}
	return struct {
		User xmlUser `xml:"User"`
	}{userXML(u)}, nil
}

// deleteConflict names the first thing that keeps u from being deleted, in
// IAM's wording, or returns nil.
func deleteConflict(u *user) *apiError {
	switch {
	case len(u.keys) > 0:
		return errDeleteConflict("Cannot delete entity, must delete access keys first.")
	case u.login != nil:
		return errDeleteConflict("Cannot delete entity, must delete login profile first.")
	case len(u.managed) > 0:
		return errDeleteConflict("Cannot delete entity, must detach all policies first.")
	case len(u.inline) > 0:
		return errDeleteConflict("Cannot delete entity, must delete policies first.")
	case len(u.groups) > 0:
		return errDeleteConflict("Cannot delete entity, must remove user from all groups first.")
	case len(u.mfa) > 0:
		return errDeleteConflict("Cannot delete entity, must delete MFA device first.")
	case len(u.ssh) > 0:
		return errDeleteConflict("Cannot delete entity, must delete SSH public keys first.")
	case len(u.certs) > 0:
		return errDeleteConflict("Cannot delete entity, must delete signing certificates first.")
	case len(u.svcCreds) > 0:
		return errDeleteConflict("Cannot delete entity, must delete service specific credentials first.")
	}
	return nil
}

func opDeleteUser(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	if err := deleteConflict(u); err != nil {
		return nil, err
	}
	if p, ok := c.w.policies[u.boundary]; ok {
		p.boundaryUses--
	}
	delete(c.w.users, lower(u.name))
	return nil, nil
}

func opListUsers(c *call) (any, *apiError) {
	prefix := c.param("PathPrefix")
	if prefix == "" {
		prefix = "/"
	}
	var keys []string
	for _, k := range sortedKeys(c.w.users) {
		if strings.HasPrefix(c.w.users[k].path, prefix) {
			keys = append(keys, k)
		}
	}
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	out := []xmlUser{}
	for _, k := range keys[start:end] {
		x := userXML(c.w.users[k])
		x.Tags = nil // ListUsers does not return tags
		out = append(out, x)
	}
	return struct {
		Users members[xmlUser] `xml:"Users"`
		pageXML
	}{list(out), pg}, nil
}

func opTagUser(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	tags, err := c.tags()
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, errValidation("tags", "", "Member must not be null")
	}
	merged := append([]Tag(nil), u.tags...)
	for _, t := range tags {
		replaced := false
		for i := range merged {
			if strings.EqualFold(merged[i].Key, t.Key) {
				merged[i], replaced = t, true
			}
		}
		if !replaced {
			merged = append(merged, t)
		}
	}
	if len(merged) > 50 {
		return nil, errQuota("TagsPerUser", 50)
	}
	u.tags = merged
	return nil, nil
}

func opUntagUser(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	keys := c.indexed("TagKeys.member", "")
	if len(keys) == 0 {
		return nil, errValidation("tagKeys", "", "Member must not be null")
	}
	kept := u.tags[:0:0]
	for _, t := range u.tags {
		drop := false
		for _, k := range keys {
			drop = drop || strings.EqualFold(k, t.Key)
		}
		if !drop {
			kept = append(kept, t)
		}
	}
	u.tags = kept
	return nil, nil
}

func opListUserTags(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	byKey := map[string]Tag{}
	for _, t := range u.tags {
		byKey[lower(t.Key)] = t
	}
	keys := sortedKeys(byKey)
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	out := []xmlTag{}
	for _, k := range keys[start:end] {
		out = append(out, xmlTag(byKey[k]))
	}
	return struct {
		Tags members[xmlTag] `xml:"Tags"`
		pageXML
	}{list(out), pg}, nil
}

// removeString returns list without the entries equal to v.
func removeString(list []string, v string) ([]string, bool) {
	out := list[:0:0]
	found := false
	for _, x := range list {
		if x == v {
			found = true
			continue
		}
		out = append(out, x)
	}
	return out, found
}

func sortedCopy(v []string) []string {
	out := append([]string(nil), v...)
	sort.Strings(out)
	return out
}
