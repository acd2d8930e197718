package awstest

import (
	"crypto/md5"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
)

// SSH key, signing certificate and service-specific credential quotas.
const (
	maxSSHKeysPerUser     = 5
	maxCertsPerUser       = 2
	maxSvcCredsPerService = 2
)

// supportedCredentialServices are the services that take service-specific
// credentials.
var supportedCredentialServices = map[string]bool{
	"codecommit.amazonaws.com": true, "cassandra.amazonaws.com": true, "bedrock.amazonaws.com": true,
}

// parseSSHPublicKey checks an OpenSSH public key ("ssh-rsa AAAA… comment")
// and returns its MD5 fingerprint as IAM reports it.
func parseSSHPublicKey(body string) (string, *apiError) {
	fields := strings.Fields(body)
	if len(fields) < 2 {
		return "", newErr(http.StatusBadRequest, "UnrecognizedPublicKeyEncoding", "The public key encoding format is unsupported or unrecognized.")
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return "", newErr(http.StatusBadRequest, "UnrecognizedPublicKeyEncoding", "The public key encoding format is unsupported or unrecognized.")
	}
	invalid := newErr(http.StatusBadRequest, "InvalidPublicKey", "The public key is not valid.")
	var parts [][]byte
	for rest := blob; len(rest) > 0; {
		if len(rest) < 4 {
			return "", invalid
		}
		n := binary.BigEndian.Uint32(rest)
		if uint64(n) > uint64(len(rest)-4) {
			return "", invalid
		}
		parts, rest = append(parts, rest[4:4+n]), rest[4+n:]
	}
	if len(parts) == 0 || string(parts[0]) != fields[0] {
		return "", invalid
	}
	switch fields[0] {
	case "ssh-rsa":
		// e, n; IAM wants a modulus of at least 2048 bits.
		if len(parts) != 3 || len(strings.TrimLeft(string(parts[2]), "\x00"))*8 < 2048 {
			return "", invalid
		}
	case "ssh-ed25519":
		if len(parts) != 2 || len(parts[1]) != 32 {
			return "", invalid
		}
	default:
		return "", invalid
	}
	sum := md5.Sum(blob)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(hexes, ":"), nil
}

type xmlSSHKeyMeta struct {
	UserName       string `xml:"UserName"`
	SSHPublicKeyID string `xml:"SSHPublicKeyId"`
	Status         string `xml:"Status"`
	UploadDate     string `xml:"UploadDate"`
}

type xmlSSHKey struct {
	xmlSSHKeyMeta
	Fingerprint      string `xml:"Fingerprint"`
	SSHPublicKeyBody string `xml:"SSHPublicKeyBody"`
}

func opUploadSSHPublicKey(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	body, err := c.required("SSHPublicKeyBody", "sSHPublicKeyBody")
	if err != nil {
		return nil, err
	}
	fp, err := parseSSHPublicKey(body)
	if err != nil {
		return nil, err
	}
	for _, k := range u.ssh {
		if k.fingerprint == fp {
			return nil, newErr(http.StatusBadRequest, "DuplicateSSHPublicKey",
				"The SSH public key is already associated with the specified IAM user.")
		}
	}
	if len(u.ssh) >= maxSSHKeysPerUser {
		return nil, errQuota("SSHPublicKeysPerUser", maxSSHKeysPerUser)
	}
	k := &sshKey{id: newID("APKA", 16), body: body, fingerprint: fp, status: "Active", uploaded: c.now}
	u.ssh = append(u.ssh, k)
	return struct {
		SSHPublicKey xmlSSHKey `xml:"SSHPublicKey"`
	}{xmlSSHKey{xmlSSHKeyMeta{u.name, k.id, k.status, awsTime(k.uploaded)}, fp, body}}, nil
}

func opDeleteSSHPublicKey(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	id, err := c.required("SSHPublicKeyId", "sSHPublicKeyId")
	if err != nil {
		return nil, err
	}
	for i, k := range u.ssh {
		if k.id == id {
			u.ssh = append(u.ssh[:i:i], u.ssh[i+1:]...)
			return nil, nil
		}
	}
	return nil, errNoSuchEntity("The Public Key with id %s cannot be found.", id)
}

func opListSSHPublicKeys(c *call) (any, *apiError) {
	u, err := c.userFor(true)
	if err != nil {
		return nil, err
	}
	byID := map[string]*sshKey{}
	for _, k := range u.ssh {
		byID[k.id] = k
	}
	keys := sortedKeys(byID)
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	out := []xmlSSHKeyMeta{}
	for _, id := range keys[start:end] {
		k := byID[id]
		out = append(out, xmlSSHKeyMeta{u.name, k.id, k.status, awsTime(k.uploaded)})
	}
	return struct {
		SSHPublicKeys members[xmlSSHKeyMeta] `xml:"SSHPublicKeys"`
		pageXML
	}{list(out), pg}, nil
}

type xmlSigningCert struct {
	UserName        string `xml:"UserName"`
	CertificateID   string `xml:"CertificateId"`
	CertificateBody string `xml:"CertificateBody"`
	Status          string `xml:"Status"`
	UploadDate      string `xml:"UploadDate"`
}

func opUploadSigningCertificate(c *call) (any, *apiError) {
	u, err := c.userFor(true)
	if err != nil {
		return nil, err
	}
	body, err := c.required("CertificateBody", "certificateBody")
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(body))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, newErr(http.StatusBadRequest, "MalformedCertificate", "Unable to parse certificate. Please ensure the certificate is in PEM format.")
	}
	if _, perr := x509.ParseCertificate(block.Bytes); perr != nil {
		return nil, newErr(http.StatusBadRequest, "InvalidCertificate", "The certificate is not valid.")
	}
	for _, ct := range u.certs {
		if ct.body == body {
			return nil, newErr(http.StatusConflict, "DuplicateCertificate", "The Certificate with id %s already exists.", ct.id)
		}
	}
	if len(u.certs) >= maxCertsPerUser {
		return nil, errQuota("SigningCertificatesPerUser", maxCertsPerUser)
	}
	ct := &signingCert{id: newID("", 32), body: body, status: "Active", uploaded: c.now}
	u.certs = append(u.certs, ct)
	return struct {
		Certificate xmlSigningCert `xml:"Certificate"`
	}{xmlSigningCert{u.name, ct.id, ct.body, ct.status, awsTime(ct.uploaded)}}, nil
}

func opDeleteSigningCertificate(c *call) (any, *apiError) {
	u, err := c.userFor(true)
	if err != nil {
		return nil, err
	}
	id, err := c.required("CertificateId", "certificateId")
	if err != nil {
		return nil, err
	}
	for i, ct := range u.certs {
		if ct.id == id {
			u.certs = append(u.certs[:i:i], u.certs[i+1:]...)
			return nil, nil
		}
	}
	return nil, errNoSuchEntity("The Certificate with id %s cannot be found.", id)
}

func opListSigningCertificates(c *call) (any, *apiError) {
	u, err := c.userFor(true)
	if err != nil {
		return nil, err
	}
	byID := map[string]*signingCert{}
	for _, ct := range u.certs {
		byID[ct.id] = ct
	}
	keys := sortedKeys(byID)
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	out := []xmlSigningCert{}
	for _, id := range keys[start:end] {
		ct := byID[id]
		out = append(out, xmlSigningCert{u.name, ct.id, ct.body, ct.status, awsTime(ct.uploaded)})
	}
	return struct {
		Certificates members[xmlSigningCert] `xml:"Certificates"`
		pageXML
	}{list(out), pg}, nil
}

type xmlServiceCred struct {
	UserName                    string `xml:"UserName"`
	Status                      string `xml:"Status"`
	ServiceUserName             string `xml:"ServiceUserName"`
	CreateDate                  string `xml:"CreateDate"`
	ServiceSpecificCredentialID string `xml:"ServiceSpecificCredentialId"`
	ServiceName                 string `xml:"ServiceName"`
}

func svcCredXML(u *user, sc *serviceCred) xmlServiceCred {
	return xmlServiceCred{u.name, sc.status, sc.serviceUser, awsTime(sc.created), sc.id, sc.service}
}

// xmlNewServiceCred is the create answer, the only one with the password.
type xmlNewServiceCred struct {
	xmlServiceCred
	ServicePassword string `xml:"ServicePassword"`
}

func opCreateServiceSpecificCredential(c *call) (any, *apiError) {
	u, err := c.userFor(false)
	if err != nil {
		return nil, err
	}
	svc, err := c.required("ServiceName", "serviceName")
	if err != nil {
		return nil, err
	}
	if !supportedCredentialServices[svc] {
		return nil, newErr(http.StatusNotFound, "NotSupportedService", "The specified service %s does not support service-specific credentials.", svc)
	}
	n := 0
	for _, sc := range u.svcCreds {
		if sc.service == svc {
			n++
		}
	}
	if n >= maxSvcCredsPerService {
		return nil, errQuota("ServiceSpecificCredentialsPerUserPerService", maxSvcCredsPerService)
	}
	sc := &serviceCred{id: newID("ACCA", 17), service: svc, status: "Active", created: c.now,
		serviceUser: u.name + "-at-" + c.w.account}
	u.svcCreds = append(u.svcCreds, sc)
	return struct {
		ServiceSpecificCredential xmlNewServiceCred `xml:"ServiceSpecificCredential"`
	}{xmlNewServiceCred{svcCredXML(u, sc), newSecret()}}, nil
}

func opDeleteServiceSpecificCredential(c *call) (any, *apiError) {
	u, err := c.userFor(true)
	if err != nil {
		return nil, err
	}
	id, err := c.required("ServiceSpecificCredentialId", "serviceSpecificCredentialId")
	if err != nil {
		return nil, err
	}
	for i, sc := range u.svcCreds {
		if sc.id == id {
			u.svcCreds = append(u.svcCreds[:i:i], u.svcCreds[i+1:]...)
			return nil, nil
		}
	}
	return nil, errNoSuchEntity("No such credential %s exists for user %s.", id, u.name)
}

func opListServiceSpecificCredentials(c *call) (any, *apiError) {
	u, err := c.userFor(true)
	if err != nil {
		return nil, err
	}
	filter := c.param("ServiceName")
	byID := map[string]*serviceCred{}
	for _, sc := range u.svcCreds {
		if filter == "" || sc.service == filter {
			byID[sc.id] = sc
		}
	}
	keys := sortedKeys(byID)
	start, end, pg, err := c.page(keys)
	if err != nil {
		return nil, err
	}
	out := []xmlServiceCred{}
	for _, id := range keys[start:end] {
		out = append(out, svcCredXML(u, byID[id]))
	}
	return struct {
		ServiceSpecificCredentials members[xmlServiceCred] `xml:"ServiceSpecificCredentials"`
		pageXML
	}{list(out), pg}, nil
}
