package awstest

import "regexp"

var reAccessKeyID = regexp.MustCompile(`^[\w]{16,128}$`)

type xmlAccessKeyMeta struct {
	UserName    string `xml:"UserName"`
	AccessKeyID string `xml:"AccessKeyId"`
	Status      string `xml:"Status"`
	CreateDate  string `xml:"CreateDate"`
}

// xmlAccessKey is the one answer that carries a secret: the client asked
// for it.
type xmlAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	CreateDate      string `xml:"CreateDate"`
}

func opCreateAccessKey(c *call) (any, *apiError) {
	u, err := c.userFor(true)
	if err != nil {
		return nil, err
	}
	if len(u.keys) >= maxKeysPerUser {
		return nil, errQuota("AccessKeysPerUser", maxKeysPerUser)
	}
	k := &accessKey{id: newID("AKIA", 16), secret: newSecret(), user: lower(u.name), status: "Active",
		created: c.now, usableAt: c.now.Add(c.s.keyDelay)}
	c.w.keys[k.id] = k
	u.keys = append(u.keys, k.id)
	return struct {
		AccessKey xmlAccessKey `xml:"AccessKey"`
	}{xmlAccessKey{u.name, k.id, k.status, k.secret, awsTime(k.created)}}, nil
}

// userKey returns the user (UserName, or the caller) and its access key
// named by AccessKeyId.
func (c *call) userKey() (*user, *accessKey, *apiError) {
	id, err := c.required("AccessKeyId", "accessKeyId")
	if err != nil {
		return nil, nil, err
	}
	if !reAccessKeyID.MatchString(id) {
		return nil, nil, errValidation("accessKeyId", id, `Member must satisfy regular expression pattern: [\w]+`)
	}
	u, err := c.userFor(true)
	if err != nil {
		return nil, nil, err
	}
	k, ok := c.w.keys[id]
	if !ok || k.user != lower(u.name) {
		return nil, nil, errNoSuchEntity("The Access Key with id %s cannot be found.", id)
	}
	return u, k, nil
}

func opDeleteAccessKey(c *call) (any, *apiError) {
	u, k, err := c.userKey()
	if err != nil {
		return nil, err
	}
	delete(c.w.keys, k.id)
	u.keys, _ = removeString(u.keys, k.id)
	return nil, nil
}

func opUpdateAccessKey(c *call) (any, *apiError) {
	status := c.param("Status")
	if status != "Active" && status != "Inactive" {
		return nil, errValidation("status", status, "Member must satisfy enum value set: [Active, Inactive]")
	}
	_, k, err := c.userKey()
	if err != nil {
		return nil, err
	}
	k.status = status
	return nil, nil
}

func opListAccessKeys(c *call) (any, *apiError) {
	u, err := c.userFor(true)
	if err != nil {
		return nil, err
	}
	keys := sortedCopy(u.keys)
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	out := []xmlAccessKeyMeta{}
	for _, id := range keys[start:end] {
		k := c.w.keys[id]
		out = append(out, xmlAccessKeyMeta{UserName: u.name, AccessKeyID: k.id, Status: k.status, CreateDate: awsTime(k.created)})
	}
	return struct {
		AccessKeyMetadata members[xmlAccessKeyMeta] `xml:"AccessKeyMetadata"`
		pageXML
	}{list(out), pg}, nil
}
