package providers

import (
	"errors"
	"fmt"
)

// FieldError is bad user input: the plugin answers 400 with the field's
// name and the rule it broke. Nothing may have been created in a cloud when
// a driver returns it.
type FieldError struct {
	// Field is the API name of the offending field.
	Field string
	// Reason says which rule the value broke.
	Reason string
}

// Error implements error.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s", e.Field, e.Reason)
}

// InvalidField returns a *FieldError for field.
func InvalidField(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// CloudError is a failure answered by a cloud (or the network to it). The
// plugin answers 502 with Op and Code, never the request or a secret.
type CloudError struct {
	// Op names the step that failed, e.g. "AttachUserPolicy".
	Op string
	// Code is the cloud's error code, e.g. "LimitExceeded".
	Code string
	// StatusCode is the cloud's HTTP status, 0 if none was received.
	StatusCode int
	// Message is the cloud's message (must never contain a secret).
	Message string
	// Err is the underlying error, kept for errors.As.
	Err error
}

// Error implements error.
func (e *CloudError) Error() string {
	msg := e.Op
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *CloudError) Unwrap() error { return e.Err }

var (
	// ErrNotFound means the thing asked for does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrUnrecoverable, returned by Revoke, means no retry can help; the
	// plugin passes logical.ErrUnrecoverable to Vault, which marks the
	// lease irrevocable at once.
	ErrUnrecoverable = errors.New("unrecoverable")
	// ErrNotSupported means the driver cannot do the operation (400).
	ErrNotSupported = errors.New("not supported by this provider")
)
