package vaulttest

import (
	"bytes"
	"os"
	"regexp"
	"sync"
)

var (
	// secretLine matches the lines in which a dev server prints its unseal
	// key and root token.
	secretLine = regexp.MustCompile(`(?im)^([ \t]*(?:unseal key|root token)[^:\n]*:[ \t]*)\S+`)
	// vaultToken matches Vault service, batch and recovery tokens.
	vaultToken = regexp.MustCompile(`\bhv[sbr]\.[A-Za-z0-9_-]{20,}`)
)

// redactingWriter writes the server's output to the log file line by line,
// with known secrets and the dev server's "Unseal Key:"/"Root Token:" values
// replaced by <redacted>, so that no secret ever reaches the disk or a test
// log.
type redactingWriter struct {
	mu      sync.Mutex
	f       *os.File
	partial []byte
	secrets [][]byte
	size    int64
}

func newRedactingWriter(f *os.File) *redactingWriter {
	return &redactingWriter{f: f}
}

// addSecret makes the writer redact s from now on.
func (w *redactingWriter) addSecret(secrets ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			w.secrets = append(w.secrets, []byte(s))
		}
	}
}

// Write implements io.Writer. Complete lines are redacted and written; a
// trailing partial line waits for the rest (or for Close).
func (w *redactingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	i := bytes.LastIndexByte(w.partial, '\n')
	if i < 0 {
		return len(p), nil
	}
	if err := w.flush(w.partial[:i+1]); err != nil {
		return 0, err
	}
	w.partial = append(w.partial[:0], w.partial[i+1:]...)
	return len(p), nil
}

func (w *redactingWriter) flush(b []byte) error {
	b = secretLine.ReplaceAll(b, []byte("${1}<redacted>"))
	b = vaultToken.ReplaceAll(b, []byte("<redacted>"))
	for _, s := range w.secrets {
		b = bytes.ReplaceAll(b, s, []byte("<redacted>"))
	}
	n, err := w.f.Write(b)
	w.size += int64(n)
	return err
}

// Size is the number of bytes written to the file so far.
func (w *redactingWriter) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// Since returns what was written to the file after offset.
func (w *redactingWriter) Since(offset int64) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	data, err := os.ReadFile(w.f.Name())
	if err != nil || int64(len(data)) < offset {
		return ""
	}
	return string(data[offset:])
}

// Close writes any partial line and closes the file.
func (w *redactingWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		_ = w.flush(append(w.partial, '\n'))
		w.partial = nil
	}
	return w.f.Close()
}
