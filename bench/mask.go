package main

import (
	"strings"
	"sync"
)

// masker replaces every secret it was told about (root credentials, the
// Vault token, issued keys and tokens) in text that may be printed or
// written to a results file.
type masker struct {
	mu      sync.Mutex
	secrets []string
}

// add remembers secrets to mask; empty strings are ignored.
func (m *masker) add(secrets ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			m.secrets = append(m.secrets, s)
		}
	}
}

// mask returns s with every known secret replaced by "****".
func (m *masker) mask(s string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, sec := range m.secrets {
		s = strings.ReplaceAll(s, sec, "****")
	}
	return s
}
