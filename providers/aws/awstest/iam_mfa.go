package awstest

import (
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
)

// Login profile and MFA quotas.
const (
	maxMFAPerUser          = 8
	minLoginPasswordLength = 8
)

var reMFACode = regexp.MustCompile(`^\d{6}$`)

type xmlLoginProfile struct {
	UserName              string `xml:"UserName"`
	CreateDate            string `xml:"CreateDate"`
	PasswordResetRequired bool   `xml:"PasswordResetRequired"`
}

func loginXML(u *user) any {
	return struct {
		LoginProfile xmlLoginProfile `xml:"LoginProfile"`
	}{xmlLoginProfile{u.name, awsTime(u.login.created), u.login.resetRequired}}
}

func opCreateLoginProfile(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	pw := c.param("Password")
	switch {
	case pw == "":
		return nil, errValidation("password", "", "Member must not be null")
	case len(pw) < minLoginPasswordLength:
		return nil, newErr(http.StatusBadRequest, "PasswordPolicyViolation",
			"Password should have a minimum length of %d", minLoginPasswordLength)
	}
	if u.login != nil {
		return nil, errAlreadyExists("Login Profile for user %s already exists.", u.name)
	}
	u.login = &loginProfile{created: c.now, resetRequired: c.param("PasswordResetRequired") == "true"}
	return loginXML(u), nil
}

func (c *call) loginProfileUser() (*user, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	if u.login == nil {
		return nil, errNoSuchEntity("Login Profile for User %s cannot be found.", u.name)
	}
	return u, nil
}

func opGetLoginProfile(c *call) (any, *apiError) {
	u, err := c.loginProfileUser()
	if err != nil {
		return nil, err
	}
	return loginXML(u), nil
}

func opDeleteLoginProfile(c *call) (any, *apiError) {
	u, err := c.loginProfileUser()
	if err != nil {
		return nil, err
	}
	u.login = nil
	return nil, nil
}

// xmlVirtualMFA carries the device's seed (blobs are base64 in XML).
type xmlVirtualMFA struct {
	SerialNumber     string `xml:"SerialNumber"`
	Base32StringSeed string `xml:"Base32StringSeed"`
	QRCodePNG        string `xml:"QRCodePNG"`
}

type xmlMFADevice struct {
	UserName     string `xml:"UserName"`
	SerialNumber string `xml:"SerialNumber"`
	EnableDate   string `xml:"EnableDate"`
}

func opCreateVirtualMFADevice(c *call) (any, *apiError) {
	name, err := c.name("VirtualMFADeviceName", "virtualMFADeviceName", 226)
	if err != nil {
		return nil, err
	}
	path, err := c.path()
	if err != nil {
		return nil, err
	}
	serial := "arn:aws:iam::" + c.w.account + ":mfa" + path + name
	if _, ok := c.w.mfa[serial]; ok {
		return nil, errAlreadyExists("MFADevice entity at the same path and name already exists.")
	}
	seed := []byte(base32.StdEncoding.EncodeToString([]byte(randString(idAlphabet, 40))))
	d := &mfaDevice{serial: serial, created: c.now, seedB32: seed, qrCodePN: []byte("\x89PNG\r\n\x1a\n")}
	c.w.mfa[serial] = d
	return struct {
		VirtualMFADevice xmlVirtualMFA `xml:"VirtualMFADevice"`
	}{xmlVirtualMFA{serial, base64.StdEncoding.EncodeToString(d.seedB32), base64.StdEncoding.EncodeToString(d.qrCodePN)}}, nil
}

func (c *call) mfaDevice() (*mfaDevice, *apiError) {
	serial, err := c.required("SerialNumber", "serialNumber")
	if err != nil {
		return nil, err
	}
	d, ok := c.w.mfa[serial]
	if !ok {
		return nil, errNoSuchEntity("MFA Device with serial number %s does not exist.", serial)
	}
	return d, nil
}

func opEnableMFADevice(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	d, err := c.mfaDevice()
	if err != nil {
		return nil, err
	}
	c1, c2 := c.param("AuthenticationCode1"), c.param("AuthenticationCode2")
	for i, code := range []string{c1, c2} {
		if !reMFACode.MatchString(code) {
			return nil, errValidation(fmt.Sprintf("authenticationCode%d", i+1), code, `Member must satisfy regular expression pattern: [\d]+ and have length 6`)
		}
	}
	if c1 == c2 {
		return nil, newErr(http.StatusForbidden, "InvalidAuthenticationCode", "Authentication code for device is not valid.")
	}
	if d.user != "" {
		return nil, errAlreadyExists("MFA Device is already in use.")
	}
	if len(u.mfa) >= maxMFAPerUser {
		return nil, errQuota("MFADevicesPerUser", maxMFAPerUser)
	}
	d.user, d.enabled = lower(u.name), c.now
	u.mfa = append(u.mfa, d.serial)
	return nil, nil
}

func opDeactivateMFADevice(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	d, err := c.mfaDevice()
	if err != nil {
		return nil, err
	}
	rest, found := removeString(u.mfa, d.serial)
	if !found {
		return nil, errNoSuchEntity("MFA Device with serial number %s not found for user %s.", d.serial, u.name)
	}
	u.mfa, d.user = rest, ""
	return nil, nil
}

func opListMFADevices(c *call) (any, *apiError) {
	u, err := c.userFor(true)
	if err != nil {
		return nil, err
	}
	keys := sortedCopy(u.mfa)
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	out := []xmlMFADevice{}
	for _, s := range keys[start:end] {
		out = append(out, xmlMFADevice{UserName: u.name, SerialNumber: s, EnableDate: awsTime(c.w.mfa[s].enabled)})
	}
	return struct {
		MFADevices members[xmlMFADevice] `xml:"MFADevices"`
		pageXML
	}{list(out), pg}, nil
}

func opDeleteVirtualMFADevice(c *call) (any, *apiError) {
	d, err := c.mfaDevice()
	if err != nil {
		return nil, err
	}
	if d.user != "" {
		return nil, errDeleteConflict("MFA VirtualDevice in use. Must deactivate first.")
	}
	delete(c.w.mfa, d.serial)
	return nil, nil
}
