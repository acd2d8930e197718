package vaulttest

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"
)

// cliTimeout bounds one CLI invocation.
const cliTimeout = 2 * time.Minute

// CLIResult is the outcome of one vault CLI invocation.
type CLIResult struct {
	// Stdout and Stderr are the command's output.
	Stdout, Stderr string
	// ExitCode is the exit status; -1 if the command was killed.
	ExitCode int
}

// CLI runs `vault <args...>` against the server with VAULT_ADDR and
// VAULT_TOKEN (the root token) set and every other VAULT_* variable of the
// environment removed. A non-zero exit is returned, not a failure; t fails
// only if the command cannot run at all.
func (s *Server) CLI(t testing.TB, args ...string) CLIResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = append(cleanEnv(s.homeDir), "VAULT_ADDR="+s.Addr(), "VAULT_TOKEN="+s.token)
	cmd.Dir = s.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := CLIResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	default:
		t.Fatalf("vaulttest: running vault %v: %v", args, err)
	}
	return res
}
