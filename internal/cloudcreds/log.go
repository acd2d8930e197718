package cloudcreds

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// logger writes the companion's messages to stderr, one line each, with a
// "cloudcreds:" prefix. Every secret the companion handles is registered
// with it and replaced by <redacted> should it ever reach a message (none
// is meant to: this is a second line of defence).
type logger struct {
	mu      sync.Mutex
	w       io.Writer
	quiet   bool
	secrets []string
}

func newLogger(w io.Writer, quiet bool) *logger { return &logger{w: w, quiet: quiet} }

// redact registers secrets to be replaced in every later message.
func (l *logger) redact(secrets ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range secrets {
		// Very short values would redact ordinary words; no real secret
		// is that short.
		if len(s) >= 8 {
			l.secrets = append(l.secrets, s)
		}
	}
}

func (l *logger) print(prefix, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	for _, s := range l.secrets {
		msg = strings.ReplaceAll(msg, s, "<redacted>")
	}
	msg = strings.ReplaceAll(msg, "\n", " ")
	fmt.Fprintf(l.w, "cloudcreds: %s%s\n", prefix, msg)
}

// infof reports progress, unless quiet.
func (l *logger) infof(format string, args ...any) {
	if !l.quiet {
		l.print("", format, args...)
	}
}

// warnf reports something the pipeline should know about.
func (l *logger) warnf(format string, args ...any) { l.print("warning: ", format, args...) }

// errorf reports the failure the companion exits with.
func (l *logger) errorf(format string, args ...any) { l.print("error: ", format, args...) }
