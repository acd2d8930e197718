package nomadtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
)

// codedError is an answer with a status and Nomad's bare message.
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }

func coded(code int, format string, args ...any) *codedError {
	if len(args) == 0 {
		return &codedError{code, format}
	}
	return &codedError{code, fmt.Sprintf(format, args...)}
}

var (
	errDenied  = coded(http.StatusForbidden, errPermissionDenied)
	errExpired = coded(http.StatusInternalServerError, errTokenExpired)
	errMethod  = coded(http.StatusMethodNotAllowed, errInvalidMethod)
)

// invalid formats a validation failure as Nomad does:
// "<kind> <idx> invalid: " + go-multierror text.
func invalid(kind string, msgs []string) *codedError {
	var merr *multierror.Error
	for _, m := range msgs {
		merr = multierror.Append(merr, errors.New(m))
	}
	return coded(http.StatusBadRequest, "%s 0 invalid: %v", kind, merr)
}

// writeError answers as Nomad's HTTP wrapper does: text/plain, the bare
// message, no trailing newline.
func writeError(w http.ResponseWriter, err *codedError) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(err.code)
	_, _ = io.WriteString(w, err.msg)
}

// throttledBody is what Nomad's HTTP server answers a client it rate
// limits: its connection limiter (connLimiter in command/agent/http.go,
// limits.http_max_conns_per_client) writes, on a new connection and
// before reading any request, a raw "HTTP/1.1 429 Too Many Requests" with
// Content-Type text/plain, this body and Connection: close, then closes
// the connection. Nomad has no other HTTP rate limit, so the request
// never takes effect.
const throttledBody = "Your IP is issuing too many concurrent connections, please rate limit your calls\n"

// writeThrottled answers as Nomad's connection limiter does.
func writeThrottled(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.Itoa(len(throttledBody)))
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = io.WriteString(w, throttledBody)
}

// writeObject answers 200 with obj as compact JSON (no body when obj is nil).
func writeObject(w http.ResponseWriter, obj any) {
	if obj == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := json.Marshal(obj)
	if err != nil {
		writeError(w, coded(http.StatusInternalServerError, "%v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// setIndex sets X-Nomad-Index, as Nomad does on writes.
func setIndex(w http.ResponseWriter, index uint64) {
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
}

// setMeta sets the query meta headers Nomad sets on every GET, including
// GETs that answer "not found".
func setMeta(w http.ResponseWriter, index uint64, nextToken string) {
	setIndex(w, index)
	w.Header().Set("X-Nomad-LastContact", "0")
	w.Header().Set("X-Nomad-KnownLeader", "true")
	if nextToken != "" {
		w.Header().Set("X-Nomad-NextToken", nextToken)
	}
}

// parseToken reads the secret from X-Nomad-Token or Authorization: Bearer,
// as Nomad's HTTPServer.parseToken does.
func parseToken(r *http.Request) string {
	if v := r.Header.Get("X-Nomad-Token"); v != "" {
		return strings.TrimSpace(v)
	}
	if v := r.Header.Get("Authorization"); v != "" {
		parts := strings.Split(v, " ")
		if len(parts) > 1 && strings.EqualFold(parts[0], "bearer") {
			value := strings.TrimSpace(strings.Join(parts[1:], " "))
			return strings.TrimSpace(strings.Split(value, " ")[0])
		}
	}
	return ""
}

// decodeBody decodes a JSON request body as Nomad's decodeBody does.
func decodeBody(r *http.Request, out any) *codedError {
	if r.Body == nil || r.Body == http.NoBody {
		return coded(http.StatusBadRequest, errRequestBodyEmpty)
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequestBodyBytes))
	if err := dec.Decode(out); err != nil {
		return coded(http.StatusBadRequest, "%v", err)
	}
	return nil
}

// queryOptions are the list parameters Nomad parses.
type queryOptions struct {
	prefix    string
	filter    string
	perPage   int32
	nextToken string
	reverse   bool
}

func parseQuery(r *http.Request) (queryOptions, *codedError) {
	q := r.URL.Query()
	o := queryOptions{
		prefix:    q.Get("prefix"),
		filter:    q.Get("filter"),
		nextToken: q.Get("next_token"),
		reverse:   q.Get("reverse") == "true",
	}
	if raw := q.Get("per_page"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 32)
		if err != nil {
			return o, coded(http.StatusBadRequest, "Expect a number for `per_page` query string parameter")
		}
		o.perPage = int32(n)
	}
	for _, k := range []string{"wait", "index"} {
		if raw := q.Get(k); raw != "" && !validWaitParam(k, raw) {
			return o, coded(http.StatusBadRequest, "Invalid %s", map[string]string{"wait": "wait time", "index": "index"}[k])
		}
	}
	return o, nil
}

func validWaitParam(k, raw string) bool {
	if k == "index" {
		_, err := strconv.ParseUint(raw, 10, 64)
		return err == nil
	}
	_, err := time.ParseDuration(raw)
	return err == nil
}
