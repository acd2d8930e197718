package awstest

import (
	"fmt"
	"net/http"
)

// apiError is one AWS Query-protocol error answer: the HTTP status, the
// error code the SDKs switch on and a human-readable message. Messages
// never contain a secret.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// errType is the <Type> of the error: Receiver for 5xx, Sender otherwise.
func (e *apiError) errType() string {
	if e.status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func newErr(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func errNoSuchEntity(format string, args ...any) *apiError {
	return newErr(http.StatusNotFound, "NoSuchEntity", format, args...)
}

func errAlreadyExists(format string, args ...any) *apiError {
	return newErr(http.StatusConflict, "EntityAlreadyExists", format, args...)
}

func errLimitExceeded(format string, args ...any) *apiError {
	return newErr(http.StatusConflict, "LimitExceeded", format, args...)
}

// errQuota is IAM's wording for a per-entity quota.
func errQuota(quota string, n int) *apiError {
	return errLimitExceeded("Cannot exceed quota for %s: %d", quota, n)
}

func errDeleteConflict(format string, args ...any) *apiError {
	return newErr(http.StatusConflict, "DeleteConflict", format, args...)
}

func errMalformedPolicy(format string, args ...any) *apiError {
	return newErr(http.StatusBadRequest, "MalformedPolicyDocument", format, args...)
}

func errInvalidInput(format string, args ...any) *apiError {
	return newErr(http.StatusBadRequest, "InvalidInput", format, args...)
}

// errValidation is the model-level validation error in AWS's
// "1 validation error detected: ..." wording.
func errValidation(param, value, constraint string) *apiError {
	if value == "" {
		return newErr(http.StatusBadRequest, "ValidationError",
			"1 validation error detected: Value null at '%s' failed to satisfy constraint: %s", param, constraint)
	}
	return newErr(http.StatusBadRequest, "ValidationError",
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, param, constraint)
}

func errValidationMsg(format string, args ...any) *apiError {
	return newErr(http.StatusBadRequest, "ValidationError", format, args...)
}

func errAccessDenied(format string, args ...any) *apiError {
	return newErr(http.StatusForbidden, "AccessDenied", format, args...)
}

func errInvalidClientTokenID() *apiError {
	return newErr(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
}

func errSignature(format string, args ...any) *apiError {
	return newErr(http.StatusForbidden, "SignatureDoesNotMatch", format, args...)
}

func errThrottling() *apiError {
	return newErr(http.StatusBadRequest, "Throttling", "Rate exceeded")
}

// errServerFault is the 5xx answer: IAM calls it ServiceFailure, STS
// InternalFailure. (A request whose action is unknown counts as IAM unless
// its Version is STS's.)
func errServerFault(svc string) *apiError {
	if svc == svcIAM {
		return newErr(http.StatusInternalServerError, "ServiceFailure",
			"The request processing has failed because of an unknown error, exception or failure.")
	}
	return newErr(http.StatusInternalServerError, "InternalFailure",
		"The request processing has failed because of an unknown error, exception or failure.")
}
