package ncloud

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"
	"github.com/NaverCloudPlatform/ncloud-sdk-go-v2/ncloud/credentials"
)

// API Gateway request headers (management-sts, pub-iam-v2-overview).
const (
	headerTimestamp = "x-ncp-apigw-timestamp"
	headerAccessKey = "x-ncp-iam-access-key"
	headerSignature = "x-ncp-apigw-signature-v2"
)

const (
	maxResponseBytes = 4 << 20
	backoffBase      = 200 * time.Millisecond
	backoffCap       = 5 * time.Second
)

// client is a small JSON client of one Ncloud API Gateway host. Every
// request is signed with the SDK's hmac signer. Only calls marked
// idempotent are retried, and only on 429, 5xx or a transport error.
type client struct {
	hc         *http.Client
	api        apiKind
	base       string
	creds      *credSource
	now        func() time.Time
	timeout    time.Duration
	maxRetries int
}

func newClient(hc *http.Client, api apiKind, base string, creds *credSource, now func() time.Time, timeout time.Duration, maxRetries int) *client {
	return &client{hc: hc, api: api, base: base, creds: creds, now: now, timeout: timeout, maxRetries: maxRetries}
}

// withKey returns a client of the same host that signs with the given key.
func (cl *client) withKey(accessKey, secretKey string) *client {
	c := *cl
	c.creds = &credSource{source: "config", now: cl.now, value: credentials.Value{AccessKey: accessKey, SecretKey: secretKey}}
	return &c
}

// call describes one API call. Calls that create something are not
// idempotent: do sends them once, and the create functions decide whether
// and how to try again (they first learn whether a failed attempt took
// effect).
type call struct {
	op         string // the step's name, for errors (e.g. "CreateSubAccount")
	method     string
	path       string // path and query, e.g. "/api/v2/sub-accounts?pageNo=0"
	body       any    // JSON-encoded when non-nil
	out        any    // decoded from a 2xx answer when non-nil
	idempotent bool   // safe to send again
}

// do sends c, retrying when allowed, and returns a *apiError for an Ncloud
// error answer or a transport error wrapped with the step.
func (cl *client) do(ctx context.Context, c call) error {
	var body []byte
	if c.body != nil {
		var err error
		if body, err = json.Marshal(c.body); err != nil {
			return fmt.Errorf("%s: encode request: %w", c.op, err)
		}
	}
	attempts := 1
	if c.idempotent {
		attempts += cl.maxRetries
	}
	var err error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if werr := sleep(ctx, backoff(i)); werr != nil {
				return fmt.Errorf("%s: %w (last error: %v)", c.op, werr, err)
			}
		}
		var retry bool
		retry, err = cl.once(ctx, c, body)
		if err == nil || !retry {
			return err
		}
	}
	return err
}

// once sends one attempt; retry reports whether another may help.
func (cl *client) once(ctx context.Context, c call, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, cl.timeout)
	defer cancel()
	ak, sk, err := cl.creds.get()
	if err != nil {
		return false, fmt.Errorf("%s: %w", c.op, err)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, cl.base+c.path, rd)
	if err != nil {
		return false, fmt.Errorf("%s: build request: %w", c.op, err)
	}
	ts := strconv.FormatInt(cl.now().UnixMilli(), 10)
	sig, err := hmac.NewSigner(sk, crypto.SHA256).Sign(c.method, req.URL.RequestURI(), ak, ts)
	if err != nil {
		return false, fmt.Errorf("%s: sign request: %w", c.op, err)
	}
	req.Header.Set(headerTimestamp, ts)
	req.Header.Set(headerAccessKey, ak)
	req.Header.Set(headerSignature, sig)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cl.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return false, fmt.Errorf("%s: %w", c.op, ctx.Err())
		}
		return true, &apiError{op: c.op, message: "request to " + req.URL.Host + " failed: " + transportReason(err), err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return true, &apiError{op: c.op, status: resp.StatusCode, message: "reading the answer failed", err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if c.out != nil && len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, c.out); err != nil {
				return false, &apiError{op: c.op, status: resp.StatusCode, message: "unexpected answer: " + err.Error()}
			}
		}
		return false, nil
	}
	aerr := parseError(c.op, resp.StatusCode, data, cl.api)
	aerr.message = redact(aerr.message, sk)
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, aerr
}

// transportReason describes a transport error without the URL's query.
func transportReason(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// backoff returns the jittered wait before attempt i (1-based).
func backoff(i int) time.Duration {
	d := backoffBase << (i - 1)
	if d > backoffCap || d <= 0 {
		d = backoffCap
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
