package nomad

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// The nomad/api client does not retry (its retryPut serves only a few
// variable endpoints), so the driver retries Nomad calls itself: up to
// max_retries more times, with "full jitter" exponential backoff between
// tries (a random pause in [0, min(retry_max_backoff, retryBase*2^n))),
// within Vault's 90 s request timeout (max_retries × retry_max_backoff is
// at most maxRetrySleep), and never past the request's context.
const (
	retryBase         = 50 * time.Millisecond
	defaultMaxRetries = 10
	defaultMaxBackoff = 2 * time.Second
	maxMaxRetries     = 30
	maxRetrySleep     = 60 * time.Second
)

// retryPolicy is an instance's max_retries and retry_max_backoff.
type retryPolicy struct {
	maxRetries int
	maxBackoff time.Duration
}

// errNoRegionPath is Nomad's answer for a region it has no server of
// (nomad/structs/errors.go).
const errNoRegionPath = "No path to region"

// failure classifies a failed Nomad call for retrying.
type failure int

const (
	// permanent failures are not retried: Nomad refused the request
	// (4xx other than 429), TLS is misconfigured, or the request's own
	// context ended.
	permanent failure = iota
	// notApplied failures are retried and certainly did not take effect:
	// Nomad's HTTP server answers 429 Too Many Requests from its
	// per-client connection limiter (limits.http_max_conns_per_client),
	// on a new connection before it reads any request (connLimiter in
	// command/agent/http.go).
	notApplied
	// ambiguous failures are retried but may have taken effect: a 5xx
	// (e.g. 500 "No cluster leader", or a raft apply that timed out after
	// it was queued), a dropped connection, a timeout.
	ambiguous
)

// classify says whether err, from a call made with ctx, is worth retrying
// and whether the call may have taken effect.
func classify(ctx context.Context, err error) failure {
	if err == nil || ctx.Err() != nil {
		return permanent
	}
	code, body := apiStatus(err)
	switch {
	case code == http.StatusTooManyRequests:
		return notApplied
	case code == http.StatusNotImplemented:
		return permanent
	case strings.HasPrefix(body, errNoRegionPath):
		// A region no server knows (structs.ErrNoRegionPath, a 500):
		// retrying cannot make it known.
		return permanent
	case code >= 500:
		return ambiguous
	case code != 0:
		return permanent
	}
	// No HTTP answer. TLS misconfiguration does not heal by retrying.
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var alert tls.AlertError
	if errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &invalid) ||
		errors.As(err, &recordErr) || errors.As(err, &alert) {
		return permanent
	}
	if msg := err.Error(); strings.Contains(msg, "tls: ") || strings.Contains(msg, "x509: ") {
		// A TLS alert from the server (e.g. "remote error: tls:
		// certificate required"): crypto/tls does not export its type.
		return permanent
	}
	var urlErr *url.Error
	var netErr net.Error
	if errors.As(err, &urlErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return ambiguous
	}
	return permanent
}

// pause waits before retry number attempt (1 for the first retry), or
// until ctx ends.
func (rp retryPolicy) pause(ctx context.Context, attempt int) error {
	ceiling := retryBase << min(attempt-1, 16)
	if ceiling > rp.maxBackoff || ceiling <= 0 {
		ceiling = rp.maxBackoff
	}
	if ceiling <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(rand.N(ceiling))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retry runs an idempotent call (a read, or a delete whose repeat answers
// "nonexistent") until it succeeds, fails permanently or the retries run
// out, and returns its last error.
func (rp retryPolicy) retry(ctx context.Context, call func() error) error {
	var err error
	for attempt := 0; attempt <= rp.maxRetries; attempt++ {
		if attempt > 0 {
			if perr := rp.pause(ctx, attempt); perr != nil {
				return err
			}
		}
		if err = call(); err == nil || classify(ctx, err) == permanent {
			return err
		}
	}
	return err
}
