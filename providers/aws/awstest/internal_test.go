package awstest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidatePolicy(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		kind docKind
		msg  string // "" = valid
	}{
		{"minimal", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, identityPolicy, ""},
		{"full", `{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"a","Effect":"Deny","NotAction":["s3:*","ec2:Describe*"],"NotResource":"arn:aws:s3:::b","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, identityPolicy, ""},
		{"not json", `{`, identityPolicy, "Syntax errors in policy."},
		{"array", `[]`, identityPolicy, "Syntax errors in policy."},
		{"trailing data", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, identityPolicy, "Syntax errors in policy."},
		{"bad version", `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, identityPolicy, "The policy failed legacy parsing"},
		{"no statement", `{"Version":"2012-10-17"}`, identityPolicy, "Syntax errors in policy."},
		{"bad effect", `{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}`, identityPolicy, "Syntax errors in policy."},
		{"no action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, identityPolicy, "Policy statement must contain actions."},
		{"action and notaction", `{"Statement":{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}}`, identityPolicy, "Policy statement must contain actions."},
		{"action without vendor", `{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}`, identityPolicy, "prefaced by a vendor"},
		{"no resource", `{"Statement":{"Effect":"Allow","Action":"*"}}`, identityPolicy, "Policy statement must contain resources."},
		{"resource not arn", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"bucket"}}`, identityPolicy, "must be in ARN format"},
		{"principal in identity policy", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`, identityPolicy, "should not specify a principal"},
		{"unknown element", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Foo":1}}`, identityPolicy, "Syntax errors in policy."},
		{"trust ok", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}}`, trustPolicy, ""},
		{"trust with resource", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Resource":"*"}}`, trustPolicy, "Has prohibited field Resource"},
		{"trust without principal", `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`, trustPolicy, "Missing required field Principal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := validatePolicy(tc.doc, tc.kind)
			if tc.msg == "" {
				require.Nil(t, err)
				return
			}
			require.NotNil(t, err)
			require.Equal(t, "MalformedPolicyDocument", err.code)
			require.Contains(t, err.message, tc.msg)
		})
	}
	require.Equal(t, 3, policySize(" { \n\t} x"))
}

func TestTrustAllows(t *testing.T) {
	const acct = "123456789012"
	caller := "arn:aws:iam::123456789012:user/u"
	tests := []struct {
		name string
		doc  string
		want bool
	}{
		{"account root", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}`, true},
		{"account id", `{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012"]},"Action":["sts:AssumeRole","sts:TagSession"]}}`, true},
		{"caller arn", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/u"},"Action":"sts:*"}]}`, true},
		{"star", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}`, true},
		{"other user", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/v"},"Action":"sts:AssumeRole"}}`, false},
		{"service only", `{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`, false},
		{"other action", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithSAML"}}`, false},
		{"explicit deny", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, trustAllows(tc.doc, acct, caller, nil))
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	a, err := parseAuthorization("AWS4-HMAC-SHA256 Credential=AKIAX/20240102/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc")
	require.Nil(t, err)
	require.Equal(t, sigv4Auth{accessKey: "AKIAX", date: "20240102", region: "us-east-1", service: "iam",
		signedHeaders: []string{"content-type", "host", "x-amz-date"}, signature: "abc"}, a)
	for _, bad := range []string{
		"AWS AKIAX:sig",
		"AWS4-HMAC-SHA256 Credential=AKIAX/20240102/us-east-1/iam, SignedHeaders=host, Signature=abc",
		"AWS4-HMAC-SHA256 Credential=AKIAX/20240102/us-east-1/iam/aws4_request, Signature=abc",
	} {
		_, err := parseAuthorization(bad)
		require.NotNil(t, err, bad)
		require.Equal(t, "IncompleteSignature", err.code)
	}
}

// TestExpiredSession shows STS credentials stop working at their
// Expiration with ExpiredToken.
func TestExpiredSession(t *testing.T) {
	s := New(Options{})
	s.mu.Lock()
	s.w.sessions["ASIAEXPIREDEXPIRED00"] = &session{keyID: "ASIAEXPIREDEXPIRED00", secret: "s", token: "tok",
		roleName: "r", sessionName: "x", expires: time.Now().Add(-time.Second)}
	s.mu.Unlock()
	_, _, _, err := s.lookupKey("ASIAEXPIREDEXPIRED00", "tok", time.Now())
	require.NotNil(t, err)
	require.Equal(t, "ExpiredToken", err.code)
	require.Equal(t, 0, s.State()["sessions"])
}

// TestParams covers form parsing corners: GET queries merged with bodies,
// a non-form content type, and list members out of order.
func TestParams(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/?Action=GetUser", strings.NewReader("UserName=a&Tags.member.2.Key=k2&Tags.member.1.Key=k1&Tags.member.1.Value=v1"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	body := []byte("UserName=a&Tags.member.2.Key=k2&Tags.member.1.Key=k1&Tags.member.1.Value=v1")
	p, err := parseParams(r, body)
	require.Nil(t, err)
	require.Equal(t, "GetUser", p.Get("Action"))
	c := &call{s: New(Options{}), p: p}
	tags, err := c.tags()
	require.Nil(t, err)
	require.Equal(t, []Tag{{"k1", "v1"}, {"k2", ""}}, tags)

	r.Header.Set("Content-Type", "application/json")
	_, err = parseParams(r, []byte(`{}`))
	require.NotNil(t, err)

	c.p = url.Values{"PolicyArns.member.2.arn": {"b"}, "PolicyArns.member.1.arn": {"a"}, "PolicyArns.member.x.arn": {"z"}}
	require.Equal(t, []string{"a", "b"}, c.indexed("PolicyArns.member", "arn"))
}
