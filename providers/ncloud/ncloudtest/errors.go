package ncloudtest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// gatewayError is the API Gateway error envelope, used for everything the
// gateway itself answers (authentication, permission, rate limit, unknown
// path, 5xx) and, by choice, for STS validation errors:
//
//	{"error":{"errorCode":"200","message":"Authentication Failed","details":"..."}}
type gatewayError struct {
	Error gatewayErrorBody `json:"error"`
}

type gatewayErrorBody struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
	Details   string `json:"details,omitempty"`
}

// API Gateway error codes (api-call-lgc-errorhandling, API Gateway overview).
const (
	gwBadRequest   = "100" // 400 Bad Request Exception
	gwAuthFailed   = "200" // 401 Authentication Failed
	gwPermission   = "210" // 401 Permission Denied
	gwNotFound     = "300" // 404 Not Found Exception
	gwRateLimited  = "420" // 429 Rate Limited
	gwTooLarge     = "430" // 413 Request Entity Too Large
	gwUnexpected   = "900" // 500 Unexpected Error
	msgAuthFailed  = "Authentication Failed"
	msgPermission  = "Permission Denied"
	msgNotFound    = "Not Found Exception"
	msgRateLimited = "Rate Limited"
	msgUnexpected  = "Unexpected Error"
	msgBadRequest  = "Bad Request Exception"
	msgTooLarge    = "Request Entity Too Large"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeGatewayError(w http.ResponseWriter, status int, code, message, details string) {
	writeJSON(w, status, gatewayError{Error: gatewayErrorBody{ErrorCode: code, Message: message, Details: details}})
}

func authFailed(w http.ResponseWriter, details string) {
	writeGatewayError(w, http.StatusUnauthorized, gwAuthFailed, msgAuthFailed, details)
}

func permissionDenied(w http.ResponseWriter, details string) {
	writeGatewayError(w, http.StatusUnauthorized, gwPermission, msgPermission, details)
}

// v1Error is the Sub Account API v1 ErrorResponse (management-subaccount
// overview: errorCode Integer, message String), wrapped in "error" like
// every other Ncloud error body.
type v1Error struct {
	Error v1ErrorBody `json:"error"`
}

type v1ErrorBody struct {
	ErrorCode int    `json:"errorCode"`
	Message   string `json:"message"`
}

// v2Error is the standardized error body (type-error-response,
// pub-iam-v2-overview).
type v2Error struct {
	Error v2ErrorBody `json:"error"`
}

type v2ErrorBody struct {
	ErrorCode   string       `json:"errorCode"`
	Message     string       `json:"message"`
	Detail      string       `json:"detail,omitempty"`
	FieldErrors []fieldError `json:"fieldErrors,omitempty"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errKind classifies a store failure; each API version renders it in its own
// wire format.
type errKind int

const (
	errValidation errKind = iota + 1
	errSubAccountNotFound
	errAccessKeyNotFound
	errPolicyNotFound
	errDuplicateLoginID
	errKeyLimit
	errSubAccountLimit
	errInUse
	errAlreadyAttached
)

// opError is a failed store operation. Its text never contains a secret.
type opError struct {
	kind   errKind
	field  string // for errValidation
	detail string
}

func (e *opError) Error() string { return e.detail }

func validation(field, msg string) *opError {
	return &opError{kind: errValidation, field: field, detail: msg}
}

// v1 error codes: 30 and 904 are documented (management-subaccount-deletekey,
// -detachpolicyfromsubaccount); the others are this emulator's choice.
func writeV1Error(w http.ResponseWriter, e *opError) {
	status, code := http.StatusBadRequest, 100
	switch e.kind {
	case errSubAccountNotFound:
		status, code = http.StatusUnauthorized, 30
	case errAccessKeyNotFound:
		code = 904
	case errDuplicateLoginID:
		code = 910
	case errKeyLimit:
		code = 905
	case errSubAccountLimit:
		code = 907
	case errInUse:
		code = 906
	case errPolicyNotFound:
		code = 908
	case errAlreadyAttached:
		code = 909
	}
	writeJSON(w, status, v1Error{Error: v1ErrorBody{ErrorCode: code, Message: e.detail}})
}

// v2 error codes: BadRequest, Forbidden, SubAccountNotFound, ResourceInUse
// and LimitExceeded are documented (pub-iam-v2-*); AccessKeyNotFound,
// PolicyNotFound, Conflict for a duplicate loginId and 409 Conflict for a
// policy that is already attached are this emulator's choice.
func writeV2Error(w http.ResponseWriter, e *opError) {
	status, body := v2ErrorParts(e)
	writeJSON(w, status, v2Error{Error: body})
}

// v2ErrorParts is the HTTP status and Error object of a store failure.
func v2ErrorParts(e *opError) (int, v2ErrorBody) {
	body := v2ErrorBody{Detail: e.detail}
	status := http.StatusBadRequest
	switch e.kind {
	case errValidation:
		body.ErrorCode, body.Message = "BadRequest", msgV2BadRequest
		body.Detail = ""
		body.FieldErrors = []fieldError{{Field: e.field, Message: e.detail}}
	case errSubAccountNotFound:
		status, body.ErrorCode, body.Message = http.StatusNotFound, "SubAccountNotFound", "The specified sub account could not be found."
	case errAccessKeyNotFound:
		status, body.ErrorCode, body.Message = http.StatusNotFound, "AccessKeyNotFound", "The specified access key could not be found."
	case errPolicyNotFound:
		status, body.ErrorCode, body.Message = http.StatusNotFound, "PolicyNotFound", "The specified policy could not be found."
	case errDuplicateLoginID, errAlreadyAttached:
		status, body.ErrorCode, body.Message = http.StatusConflict, "Conflict", "The request conflicts with the current state of the resource."
	case errKeyLimit, errSubAccountLimit:
		body.ErrorCode, body.Message = "LimitExceeded", "The request exceeds the resource limit."
	case errInUse:
		status, body.ErrorCode, body.Message = http.StatusConflict, "ResourceInUse", "The specified resource is in use."
	}
	return status, body
}

// v2Failures is the Batch Failure Response (type-batch-response): exactly
// one of "error" and "failures"; failures maps the index (a decimal
// string from "0") of each request item that failed, and only those, to
// an Error. A synchronous batch API that fails processes no item.
type v2Failures struct {
	Failures map[string]v2ErrorBody `json:"failures"`
}

// writeV2Failures answers per-item failures: the items' common status,
// or 400 when they differ (the attach-policies guides: "혼재 시 400 대표
// 코드", 400 represents mixed causes).
func writeV2Failures(w http.ResponseWriter, failed map[int]*opError) {
	out := v2Failures{Failures: map[string]v2ErrorBody{}}
	status := 0
	for i, e := range failed {
		st, body := v2ErrorParts(e)
		out.Failures[strconv.Itoa(i)] = body
		switch {
		case status == 0:
			status = st
		case status != st:
			status = http.StatusBadRequest
		}
	}
	writeJSON(w, status, out)
}

const msgV2BadRequest = "The request is malformed or contains an error such as an invalid parameter value or a missing required parameter."

func writeV2Forbidden(w http.ResponseWriter) {
	writeJSON(w, http.StatusForbidden, v2Error{Error: v2ErrorBody{ErrorCode: "Forbidden", Message: "You do not have sufficient permissions to perform this action."}})
}
