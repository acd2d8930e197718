package ncloudtest

import (
	"crypto"
	"crypto/hmac"
	"net/http"
	"strconv"
	"time"

	ncphmac "github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"
)

// Request headers of every API Gateway call.
const (
	headerTimestamp   = "x-ncp-apigw-timestamp"
	headerAccessKey   = "x-ncp-iam-access-key"
	headerSignatureV2 = "x-ncp-apigw-signature-v2"
	// headerSignatureV1 is what the SDK's generated service clients send; it
	// carries the same HmacSHA256 signature and is accepted as a fallback.
	headerSignatureV1 = "x-ncp-apigw-signature-v1"
)

// caller is an authenticated request's identity.
type caller struct {
	st           *state // the account the key belongs to
	subAccountID string // "" for the main account's key
	main         bool   // the main account's key (userType Customer)
	viaSTS       bool
}

// authenticate verifies the gateway signature of r: the timestamp is within
// MaxClockSkew of the server clock, the access key is a live sub-account key
// or an unexpired STS key whose sub account still exists, and the signature
// is HmacSHA256(secret, "METHOD URI\ntimestamp\naccessKey") with URI the
// request URI including its query string. On failure it writes the API
// Gateway's 401 answer and returns false. No answer contains a secret.
//
// An STS key that has expired is answered 404 at the STS host (rt.api is
// apiSTS): the STS guide lists 404 as an invalid or expired credential
// (management-sts, response status codes); the body is this emulator's
// choice. Elsewhere it is the gateway's 401 "200".
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, rt *route) (caller, bool) {
	ts := r.Header.Get(headerTimestamp)
	ak := r.Header.Get(headerAccessKey)
	sig := r.Header.Get(headerSignatureV2)
	if sig == "" {
		sig = r.Header.Get(headerSignatureV1)
	}
	if ts == "" || ak == "" || sig == "" {
		authFailed(w, "Required authentication headers are missing: "+headerTimestamp+", "+headerAccessKey+", "+headerSignatureV2+".")
		return caller{}, false
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		authFailed(w, "Invalid timestamp: "+headerTimestamp+" must be milliseconds since the Unix epoch.")
		return caller{}, false
	}

	s.mu.Lock()
	now := s.clock()
	skew := s.maxSkew
	var st *state
	var secret, owner string
	var viaSTS, main, expired, inactive, apiDenied, ownerExists bool
	for _, acct := range s.accounts {
		if k, ok := acct.keys[ak]; ok {
			st, secret, owner, inactive = acct, k.secret, k.owner, !k.active
		} else if k, ok := acct.sts[ak]; ok {
			st, secret, owner, viaSTS = acct, k.secret, k.owner, true
			expired = !now.Before(k.expires)
		} else if acct.mainKey.id == ak {
			st, secret, main, ownerExists = acct, acct.mainKey.secret, true, true
		}
		if st != nil {
			break
		}
	}
	if st != nil && !main {
		var sub *subAccount
		sub, ownerExists = st.subs[owner]
		if ownerExists {
			apiDenied = !sub.apiGatewayAccess
		}
	}
	s.mu.Unlock()

	if d := now.Sub(time.UnixMilli(ms)); d > skew || d < -skew {
		authFailed(w, "Invalid timestamp: the request time differs from the server time by more than "+skew.String()+".")
		return caller{}, false
	}
	if secret == "" || !ownerExists {
		authFailed(w, "Invalid access key.")
		return caller{}, false
	}
	if inactive {
		authFailed(w, "The access key is inactive.")
		return caller{}, false
	}
	if expired {
		if rt.api == apiSTS {
			writeGatewayError(w, http.StatusNotFound, "404", "Not Found", "The credential is invalid or has expired.")
			return caller{}, false
		}
		authFailed(w, "The access key has expired.")
		return caller{}, false
	}
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	want, err := ncphmac.NewSigner(secret, crypto.SHA256).Sign(r.Method, uri, ak, ts)
	if err != nil || !hmac.Equal([]byte(want), []byte(sig)) {
		authFailed(w, "Signature mismatch.")
		return caller{}, false
	}
	if apiDenied {
		permissionDenied(w, "The sub account is not allowed to access API Gateway.")
		return caller{}, false
	}
	return caller{st: st, subAccountID: owner, main: main, viaSTS: viaSTS}, true
}
