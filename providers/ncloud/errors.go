package ncloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// Documented error codes.
const (
	// API Gateway (api-call-lgc-errorhandling).
	gwAuthFailed  = "200" // 401 Authentication Failed: bad key, signature or timestamp
	gwPermission  = "210" // 401 Permission Denied
	gwNotFound    = "300" // 404 no such API
	gwRateLimited = "420" // 429 Rate Limited
	// Sub Account API v2 (pub-iam-v2-*).
	v2SubAccountNotFound = "SubAccountNotFound"
	v2AccessKeyNotFound  = "AccessKeyNotFound"
	v2LimitExceeded      = "LimitExceeded"
	v2Forbidden          = "Forbidden"
	v2Conflict           = "Conflict"
	// Sub Account API v1: 401 with errorCode 30 is a nonexistent (sub)
	// account (management-subaccount-deletekey).
	v1NoSuchAccount = "30"
)

// apiError is an Ncloud error answer (or a transport failure) of one step.
// It never holds a secret: messages are redacted of the signing secret.
type apiError struct {
	op      string
	status  int    // HTTP status, 0 for a transport error
	code    string // errorCode, as a string ("200", "LimitExceeded", "30")
	message string
	err     error
}

func (e *apiError) Error() string { return e.cloudError().Error() }

func (e *apiError) Unwrap() error { return e.cloudError() }

// cloudError is the providers.CloudError the plugin turns into a 502.
func (e *apiError) cloudError() *providers.CloudError {
	return &providers.CloudError{Op: e.op, Code: e.code, StatusCode: e.status, Message: e.message, Err: e.err}
}

// notFound reports a "does not exist" answer for a sub account or key.
func (e *apiError) notFound() bool {
	switch {
	case e.status == http.StatusNotFound && (e.code == v2SubAccountNotFound || e.code == v2AccessKeyNotFound):
		return true
	case e.status == http.StatusUnauthorized && e.code == v1NoSuchAccount:
		return true
	}
	return false
}

// errorBody covers the three documented error envelopes: the gateway's
// {"error":{"errorCode":"200","message","details"}}, v1's numeric errorCode
// and v2's {"errorCode","message","detail","fieldErrors"}.
type errorBody struct {
	Error struct {
		ErrorCode   json.RawMessage `json:"errorCode"`
		Message     string          `json:"message"`
		Details     string          `json:"details"`
		Detail      string          `json:"detail"`
		FieldErrors []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fieldErrors"`
	} `json:"error"`
}

// parseError turns an error answer into an apiError with a message that
// says what to do about the documented failures.
func parseError(op string, status int, data []byte) *apiError {
	e := &apiError{op: op, status: status}
	var b errorBody
	if json.Unmarshal(data, &b) == nil {
		code := string(bytes.TrimSpace(b.Error.ErrorCode))
		if s, err := strconv.Unquote(code); err == nil {
			code = s
		}
		e.code = code
		parts := []string{b.Error.Message}
		for _, d := range []string{b.Error.Details, b.Error.Detail} {
			if d != "" {
				parts = append(parts, d)
			}
		}
		for _, f := range b.Error.FieldErrors {
			parts = append(parts, f.Field+": "+f.Message)
		}
		e.message = strings.Join(nonEmpty(parts), "; ")
	}
	if e.message == "" {
		e.message = http.StatusText(status)
	}
	if hint := hintFor(status, e.code); hint != "" {
		e.message += " (" + hint + ")"
	}
	return e
}

// hintFor explains the documented failures an operator can fix.
func hintFor(status int, code string) string {
	switch {
	case status == http.StatusUnauthorized && code == gwAuthFailed:
		return "Ncloud refused the request signature: check that access_key and secret_key belong together and are active, " +
			"and that this host's clock is within 5 minutes of Ncloud's (x-ncp-apigw-timestamp)"
	case status == http.StatusUnauthorized && code == gwPermission, status == http.StatusForbidden && code == v2Forbidden:
		return "the sub account of access_key lacks a policy allowing this call; attach one that manages sub accounts (e.g. NCP_ADMINISTRATOR) or use only sts roles"
	case status == http.StatusTooManyRequests:
		return "Ncloud rate limit; retry later"
	case code == v2LimitExceeded:
		return "an Ncloud limit was reached: at most 2 access keys per sub account and 500 sub accounts per account"
	case status == http.StatusNotFound && code == gwNotFound:
		return "no such API at this endpoint; check site, sts_endpoint and subaccount_endpoint"
	}
	return ""
}

func nonEmpty(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// redact removes secret from s (defence in depth: no documented answer
// echoes it).
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// asAPIError returns the *apiError in err's chain.
func asAPIError(err error) (*apiError, bool) {
	var ae *apiError
	ok := errors.As(err, &ae)
	return ae, ok
}

// isNotFound reports whether err is a "does not exist" answer.
func isNotFound(err error) bool {
	ae, ok := asAPIError(err)
	return ok && ae.notFound()
}
