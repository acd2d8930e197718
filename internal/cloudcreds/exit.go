package cloudcreds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/vault/api"
)

// Exit statuses of the companion's own failures. They follow sysexits(3)
// where one fits, so a pipeline can tell "the companion failed" from "the
// job failed" (a job may of course use the same numbers; the companion
// also prints one "cloudcreds: error:" line on stderr). When the command
// ran, the companion exits with the command's status instead (128+n when a
// signal n killed it), except ExitRevoke below.
const (
	// ExitUsage: an unknown flag, a malformed --cred, a missing command.
	ExitUsage = 64
	// ExitNotCredential: a --cred path is not a credential: Vault has
	// nothing there (404), answered 400, gave no lease, or the data lacks
	// the fields of the --cred kind.
	ExitNotCredential = 65
	// ExitUnavailable: Vault (or the CI's identity endpoint) could not be
	// reached, timed out, is sealed or answered 5xx/429.
	ExitUnavailable = 69
	// ExitInternal: a bug; the message says what.
	ExitInternal = 70
	// ExitRevoke: the command succeeded, but a lease or the login token
	// could not be revoked; it ends at its TTL.
	ExitRevoke = 75
	// ExitDenied: no Vault identity: no token and no login configured, the
	// CI's identity token could not be obtained, Vault refused the login,
	// or Vault refused a read (401/403).
	ExitDenied = 77
	// ExitConfig: the VAULT_* settings are unusable (e.g. a VAULT_CACERT
	// that cannot be read).
	ExitConfig = 78
	// ExitCannotExecute: the command was found but could not be started.
	ExitCannotExecute = 126
	// ExitNotFound: the command was not found.
	ExitNotFound = 127
)

// Error is a failure of the companion with the exit status it maps to.
type Error struct {
	// Code is the exit status.
	Code int
	// Err says what failed; it never carries a secret.
	Err error
}

// Error implements error.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// failf returns an *Error with the given exit status.
func failf(code int, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// CodeOf returns the exit status an error maps to: the Code of the first
// *Error in its chain, else ExitInternal.
func CodeOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitInternal
}

// classify wraps an error from a Vault call in an *Error: 401/403 is
// ExitDenied, 5xx and 429 are ExitUnavailable, any other answer is
// clientCode, and no answer at all (refused connection, timeout, TLS) is
// ExitUnavailable. what names the call ("read multicloud/creds/aws/ci").
func classify(err error, what string, clientCode int) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		code := clientCode
		switch {
		case re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden:
			code = ExitDenied
		case re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests:
			code = ExitUnavailable
		}
		return &Error{Code: code, Err: fmt.Errorf("%s: Vault answered %d: %s", what, re.StatusCode, errorText(re))}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Code: ExitInternal, Err: fmt.Errorf("%s: interrupted", what)}
	}
	return &Error{Code: ExitUnavailable, Err: fmt.Errorf("%s: Vault unreachable: %w", what, err)}
}

// errorText is Vault's error list, or the status text when it sent none.
func errorText(re *api.ResponseError) string {
	if len(re.Errors) == 0 {
		return http.StatusText(re.StatusCode)
	}
	s := make([]string, len(re.Errors))
	for i, e := range re.Errors {
		// Vault's multi-errors span lines; keep the message on one.
		s[i] = strings.Join(strings.Fields(e), " ")
	}
	return strings.Join(s, "; ")
}
