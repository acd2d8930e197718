package awstest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// principal is who signed a request: an IAM user (by access key) or an STS
// assumed-role session.
type principal struct {
	account   string // the account the credential acts in
	accessKey string
	userKey   string   // lower-case IAM user name, for user keys
	session   *session // for STS temporary credentials (a copy)
}

// maxSkew is how far a request's X-Amz-Date may be from the server clock.
const maxSkew = 15 * time.Minute

const amzDateFormat = "20060102T150405Z"

// sigv4Auth is the parsed Authorization header.
type sigv4Auth struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

func parseAuthorization(h string) (sigv4Auth, *apiError) {
	var a sigv4Auth
	incomplete := func(msg string) (sigv4Auth, *apiError) {
		return a, newErr(http.StatusBadRequest, "IncompleteSignature", "%s", msg)
	}
	alg, rest, ok := strings.Cut(h, " ")
	if !ok || alg != "AWS4-HMAC-SHA256" {
		return incomplete("Authorization header requires the AWS4-HMAC-SHA256 algorithm.")
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			scope := strings.Split(v, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return incomplete("Authorization header requires a Credential of the form <key>/<date>/<region>/<service>/aws4_request.")
			}
			a.accessKey, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKey == "" || len(a.signedHeaders) == 0 || a.signature == "" {
		return incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
	}
	return a, nil
}

// authenticate verifies the SigV4 signature of r (whose body was read into
// body) and returns who signed it. svc, when not empty, is the service the
// credential scope must name.
func (s *Server) authenticate(r *http.Request, body []byte, svc string) (principal, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return principal{}, newErr(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	a, aerr := parseAuthorization(h)
	if aerr != nil {
		return principal{}, aerr
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signTime, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return principal{}, newErr(http.StatusBadRequest, "IncompleteSignature",
			"Authorization header requires existence of a valid 'X-Amz-Date' header.")
	}
	now := time.Now().UTC()
	switch {
	case signTime.Before(now.Add(-maxSkew)):
		return principal{}, errSignature("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.Add(-maxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	case signTime.After(now.Add(maxSkew)):
		return principal{}, errSignature("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, now.Add(maxSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	case a.date != signTime.Format("20060102"):
		return principal{}, errSignature("Credential should be scoped to a valid date, not '%s'.", a.date)
	case svc != "" && a.service != svc:
		return principal{}, errSignature("Credential should be scoped to correct service: '%s'.", svc)
	}

	p, secret, token, aerr := s.lookupKey(a.accessKey, r.Header.Get("X-Amz-Security-Token"), now)
	if aerr != nil {
		return principal{}, aerr
	}
	want, err := recomputeSignature(r, body, a, signTime, aws.Credentials{
		AccessKeyID: a.accessKey, SecretAccessKey: secret, SessionToken: token,
	})
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(a.signature)) != 1 {
		return principal{}, errSignature("The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return p, nil
}

// lookupKey finds the secret of an access key and says whether the key may
// be used now. The session token is returned only for STS credentials.
func (s *Server) lookupKey(id, token string, now time.Time) (principal, string, string, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, acct := range s.accountOrder {
		w := s.accounts[acct]
		if k, ok := w.keys[id]; ok {
			if k.status != "Active" || now.Before(k.usableAt) {
				return principal{}, "", "", errInvalidClientTokenID()
			}
			return principal{account: acct, accessKey: id, userKey: k.user}, k.secret, "", nil
		}
		ss, ok := w.sessions[id]
		if !ok {
			continue
		}
		if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(ss.token)) != 1 {
			return principal{}, "", "", errInvalidClientTokenID()
		}
		if !now.Before(ss.expires) {
			return principal{}, "", "", newErr(http.StatusForbidden, "ExpiredToken",
				"The security token included in the request is expired")
		}
		cp := *ss
		return principal{account: acct, accessKey: id, session: &cp}, ss.secret, ss.token, nil
	}
	return principal{}, "", "", errInvalidClientTokenID()
}

// recomputeSignature signs a copy of the request as received, with only the
// headers the client signed, using the SDK's own SigV4 signer, and returns
// the signature it computed.
func recomputeSignature(r *http.Request, body []byte, a sigv4Auth, signTime time.Time, creds aws.Credentials) (string, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	req := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:   r.Host,
		Header: http.Header{},
	}
	tokenSigned := false
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = int64(len(body))
		case "x-amz-security-token":
			tokenSigned = true
			req.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		default:
			req.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	if !tokenSigned {
		creds.SessionToken = "" // the signer would otherwise add and sign it
	}
	sum := sha256.Sum256(body)
	signer := v4.NewSigner()
	if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), a.service, a.region, signTime); err != nil {
		return "", err
	}
	_, sig, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	return sig, nil
}
