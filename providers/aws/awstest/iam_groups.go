package awstest

type xmlGroup struct {
	Path       string `xml:"Path"`
	GroupName  string `xml:"GroupName"`
	GroupID    string `xml:"GroupId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func groupXML(g *group) xmlGroup {
	return xmlGroup{Path: g.path, GroupName: g.name, GroupID: g.id, Arn: g.arn, CreateDate: awsTime(g.created)}
}

func (c *call) group() (*group, *apiError) {
	name, err := c.name("GroupName", "groupName", 128)
	if err != nil {
		return nil, err
	}
	g, ok := c.w.groups[lower(name)]
	if !ok {
		return nil, errNoSuchEntity("The group with name %s cannot be found.", name)
	}
	return g, nil
}

func opCreateGroup(c *call) (any, *apiError) {
	name, err := c.name("GroupName", "groupName", 128)
	if err != nil {
		return nil, err
	}
	path, err := c.path()
	if err != nil {
		return nil, err
	}
	if _, ok := c.w.groups[lower(name)]; ok {
		return nil, errAlreadyExists("Group with name %s already exists.", name)
	}
	g := &group{name: name, path: path, id: newID("AGPA", 17), created: c.now,
		arn: "arn:aws:iam::" + c.w.account + ":group" + path + name}
	c.w.groups[lower(name)] = g
	return struct {
		Group xmlGroup `xml:"Group"`
	}{groupXML(g)}, nil
}

func opGetGroup(c *call) (any, *apiError) {
	g, err := c.group()
	if err != nil {
		return nil, err
	}
	keys := sortedCopy(g.users)
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	users := []xmlUser{}
	for _, k := range keys[start:end] {
		if u, ok := c.w.users[k]; ok {
			x := userXML(u)
			x.Tags = nil
			users = append(users, x)
		}
	}
	return struct {
		Group xmlGroup         `xml:"Group"`
		Users members[xmlUser] `xml:"Users"`
		pageXML
	}{groupXML(g), list(users), pg}, nil
}

func opDeleteGroup(c *call) (any, *apiError) {
	g, err := c.group()
	if err != nil {
		return nil, err
	}
	if len(g.users) > 0 {
		return nil, errDeleteConflict("Cannot delete entity, must remove users from group first.")
	}
	delete(c.w.groups, lower(g.name))
	return nil, nil
}

func opAddUserToGroup(c *call) (any, *apiError) {
	g, err := c.group()
	if err != nil {
		return nil, err
	}
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	gk, uk := lower(g.name), lower(u.name)
	for _, x := range u.groups {
		if x == gk {
			return nil, nil // already a member: no-op, as in IAM
		}
	}
	if len(u.groups) >= maxGroupsPerUser {
		return nil, errQuota("GroupsPerUser", maxGroupsPerUser)
	}
	u.groups = append(u.groups, gk)
	g.users = append(g.users, uk)
	return nil, nil
}

func opRemoveUserFromGroup(c *call) (any, *apiError) {
	g, err := c.group()
	if err != nil {
		return nil, err
	}
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	rest, found := removeString(u.groups, lower(g.name))
	if !found {
		return nil, errNoSuchEntity("User %s is not in group %s.", u.name, g.name)
	}
	u.groups = rest
	g.users, _ = removeString(g.users, lower(u.name))
	return nil, nil
}

func opListGroupsForUser(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	keys := sortedCopy(u.groups)
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	out := []xmlGroup{}
	for _, k := range keys[start:end] {
		if g, ok := c.w.groups[k]; ok {
			out = append(out, groupXML(g))
		}
	}
	return struct {
		Groups members[xmlGroup] `xml:"Groups"`
		pageXML
	}{list(out), pg}, nil
}
