package awstest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// FuzzQueryAPI feeds arbitrary Query API requests to the emulator: the
// method, query string, Content-Type and form body, either signed with
// SigV4 by the SDK's signer (so the action and its parameters are parsed)
// or carrying an arbitrary Authorization header and X-Amz-Date (so the
// SigV4 parser is). The emulator must never panic and must answer every
// request with AWS's XML: <Action>Response on 200, an ErrorResponse with a
// Code otherwise, never a 5xx (no fault is injected). An unsigned request
// must change nothing.
func FuzzQueryAPI(f *testing.F) {
	type seed struct {
		signed                           bool
		method, query, contentType, body string
		authorization, amzDate, service  string
	}
	form := "application/x-www-form-urlencoded; charset=utf-8"
	for _, s := range []seed{
		{true, "POST", "", form, "Action=CreateUser&UserName=fz&Version=2010-05-08", "", "", "iam"},
		{true, "POST", "", form, "Action=AttachUserPolicy&UserName=fz&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess&Version=2010-05-08", "", "", "iam"},
		{true, "POST", "", form, "Action=CreateUser&UserName=fz&Tags.member.1.Key=k&Tags.member.1.Value=v&Version=2010-05-08", "", "", "iam"},
		{true, "GET", "Action=ListUsers&MaxItems=1&Version=2010-05-08", "", "", "", "", "iam"},
		{true, "POST", "", form, "Action=PutUserPolicy&UserName=emulator-root&PolicyName=p&PolicyDocument=%7B%7D&Version=2010-05-08", "", "", "iam"},
		{true, "POST", "", form, "Action=GetCallerIdentity&Version=2011-06-15", "", "", "sts"},
		{true, "POST", "", form, "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx&RoleSessionName=s&Version=2011-06-15", "", "", "sts"},
		{true, "POST", "", "text/plain", "%zz", "", "", "iam"},
		{false, "POST", "", form, "Action=CreateUser&UserName=fz&Version=2010-05-08",
			"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20260101T000000Z", "iam"},
		{false, "POST", "", form, "Action=CreateUser&UserName=fz", "AWS4-HMAC-SHA256 Credential=/, SignedHeaders=, Signature=", "x", "iam"},
		{false, "GET", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&Action=ListUsers", "", "", "", "", "iam"},
	} {
		f.Add(s.signed, s.method, s.query, s.contentType, []byte(s.body), s.authorization, s.amzDate, s.service)
	}
	srv := awstest.New(awstest.Options{})
	ak, sk := srv.RootCredentials()
	f.Fuzz(func(t *testing.T, signed bool, method, query, contentType string, body []byte, authorization, amzDate, service string) {
		req, err := http.NewRequest(method, "http://127.0.0.1/?"+query, bytes.NewReader(body))
		if err != nil {
			return // not an HTTP request a client could send
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if signed {
			sum := sha256.Sum256(body)
			if service == "" {
				service = "iam"
			}
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk},
				req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
				return
			}
		} else {
			req.Header.Set("Authorization", authorization)
			req.Header.Set("X-Amz-Date", amzDate)
		}
		before := srv.State()
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)

		if rec.Code >= 500 {
			t.Fatalf("status %d without an injected fault: %s", rec.Code, rec.Body)
		}
		var root struct {
			XMLName xml.Name
			Error   struct {
				Code string `xml:"Code"`
			} `xml:"Error"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &root); err != nil {
			t.Fatalf("status %d answer is not XML: %v: %q", rec.Code, err, rec.Body)
		}
		switch {
		case rec.Code == http.StatusOK && !strings.HasSuffix(root.XMLName.Local, "Response"):
			t.Fatalf("a 200 answer's root is %s, not <Action>Response", root.XMLName.Local)
		case rec.Code != http.StatusOK && (root.XMLName.Local != "ErrorResponse" || root.Error.Code == ""):
			t.Fatalf("status %d answer is not an ErrorResponse with a Code: %q", rec.Code, rec.Body)
		}
		if !signed && rec.Code == http.StatusOK {
			t.Fatalf("an unsigned request succeeded: %q", rec.Body)
		}
		if after := srv.State(); !signed && !equalCounts(before, after) {
			t.Fatalf("an unsigned request changed the account: %v -> %v", before, after)
		}
	})
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
