package ncloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
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
	// failures are the per-item errors of a batch call, by request item
	// index (a Batch Failure Response; code and message are then the
	// first failed item's).
	failures map[int]itemError
	err      error
}

// itemError is one failed item of a batch call.
type itemError struct {
	Code, Message string
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

// errorObject is one documented Error: the gateway's {"errorCode":"200",
// "message","details"}, v1's numeric errorCode and the Ncloud API
// standard's {"errorCode","message","detail","fieldErrors"}
// (type-error-response).
type errorObject struct {
	ErrorCode   json.RawMessage `json:"errorCode"`
	Message     string          `json:"message"`
	Details     string          `json:"details"`
	Detail      string          `json:"detail"`
	FieldErrors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"fieldErrors"`
}

// errorBody is an error answer: {"error": Error}, or a Batch Failure
// Response {"failures": {"<item index>": Error}} (type-batch-response:
// exactly one of the two; only the items that failed are keys).
type errorBody struct {
	Error    *errorObject           `json:"error"`
	Failures map[string]errorObject `json:"failures"`
}

// code returns the errorCode as a string (v1's is a number).
func (o *errorObject) code() string {
	code := string(bytes.TrimSpace(o.ErrorCode))
	if s, err := strconv.Unquote(code); err == nil {
		code = s
	}
	return code
}

// text joins the message, details and field errors.
func (o *errorObject) text() string {
	parts := []string{o.Message, o.Details, o.Detail}
	for _, f := range o.FieldErrors {
		parts = append(parts, f.Field+": "+f.Message)
	}
	return strings.Join(nonEmpty(parts), "; ")
}

// parseError turns an error answer of api into an apiError with a message
// that says what to do about the documented failures. A batch failure
// carries the real code of each failed item; the error's own code is the
// first item's.
func parseError(op string, status int, data []byte, api apiKind) *apiError {
	e := &apiError{op: op, status: status}
	var b errorBody
	if json.Unmarshal(data, &b) == nil {
		switch {
		case b.Error != nil:
			e.code, e.message = b.Error.code(), b.Error.text()
		case len(b.Failures) > 0:
			e.failures = make(map[int]itemError, len(b.Failures))
			var idx []int
			for k, f := range b.Failures {
				i, err := strconv.Atoi(k)
				if err != nil || i < 0 {
					continue
				}
				e.failures[i] = itemError{Code: f.code(), Message: f.text()}
				idx = append(idx, i)
			}
			sort.Ints(idx)
			var parts []string
			for _, i := range idx {
				f := e.failures[i]
				if e.code == "" {
					e.code = f.Code
				}
				parts = append(parts, fmt.Sprintf("item %d: %s: %s", i, f.Code, f.Message))
			}
			e.message = strings.Join(parts, "; ")
		}
	}
	if e.message == "" {
		e.message = http.StatusText(status)
	}
	if hint := hintFor(status, e.code, api); hint != "" {
		e.message += " (" + hint + ")"
	}
	return e
}

// apiKind names the API a client talks to: the hints differ.
type apiKind int

const (
	apiSubAccount apiKind = iota
	apiSTS
)

// hintFor explains the documented failures an operator can fix.
func hintFor(status int, code string, api apiKind) string {
	switch {
	case api == apiSTS && status == http.StatusNotFound:
		// The STS guide documents 404 as an invalid or expired
		// credential (management-sts, response status codes), not as
		// a missing API.
		return "Ncloud STS answers 404 for an invalid or expired credential: check that access_key and secret_key are a live key pair"
	case status == http.StatusUnauthorized && code == gwAuthFailed:
		return "Ncloud refused the request signature: check that access_key and secret_key belong together and are active, " +
			"and that this host's clock is within 5 minutes of Ncloud's (x-ncp-apigw-timestamp)"
	case status == http.StatusUnauthorized && code == gwPermission, status == http.StatusForbidden && code == v2Forbidden:
		return "the sub account of access_key lacks a policy allowing this call; attach one that manages sub accounts (e.g. NCP_ADMINISTRATOR) or use only sts roles"
	case status == http.StatusTooManyRequests:
		return "Ncloud rate limit; retry later"
	case code == v2LimitExceeded:
		return "an Ncloud limit was reached: at most 2 active access keys per sub account and 500 sub accounts per account"
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

// isThrottled reports a rate-limit answer (429, the gateway's "420"):
// the gateway refused the call before it reached the service, so it took
// no effect and may be sent again.
func isThrottled(err error) bool {
	ae, ok := asAPIError(err)
	return ok && ae.status == http.StatusTooManyRequests
}

// isAmbiguous reports a failure after which the call may or may not have
// taken effect: no answer (a broken connection, a timeout) or a 5xx.
func isAmbiguous(err error) bool {
	ae, ok := asAPIError(err)
	return ok && (ae.status == 0 || ae.status >= 500)
}

// isConflict reports a 409 answer.
func isConflict(err error) bool {
	ae, ok := asAPIError(err)
	return ok && ae.status == http.StatusConflict
}

// isLimitExceeded reports the LimitExceeded answer.
func isLimitExceeded(err error) bool {
	ae, ok := asAPIError(err)
	return ok && ae.code == v2LimitExceeded
}
