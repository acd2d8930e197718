package cloudcreds

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// forwarded are the signals passed on to the command. The first four end
// a job; USR1/USR2 are passed on for programs that use them.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

func terminating(s os.Signal) bool {
	return s == syscall.SIGINT || s == syscall.SIGTERM || s == syscall.SIGHUP || s == syscall.SIGQUIT
}

// relay receives the companion's signals. Before the command runs, a
// terminating signal cancels the setup (what was issued is revoked and
// the companion exits 128+n); once it runs, every signal is passed on.
type relay struct {
	mu     sync.Mutex
	child  *os.Process
	first  os.Signal // the first terminating signal
	cancel context.CancelFunc
	term   chan os.Signal // terminating signals, for the exec loop
}

func newRelay(cancel context.CancelFunc) *relay {
	return &relay{cancel: cancel, term: make(chan os.Signal, 1)}
}

// run reads in until it is closed.
func (r *relay) run(in <-chan os.Signal) {
	for s := range in {
		r.mu.Lock()
		child := r.child
		if terminating(s) && r.first == nil {
			r.first = s
		}
		r.mu.Unlock()
		if child != nil {
			_ = child.Signal(s)
		}
		if terminating(s) {
			r.cancel()
			select {
			case r.term <- s:
			default:
			}
		}
	}
}

// setChild starts forwarding to p; a terminating signal that came while
// the command was being started is passed on now.
func (r *relay) setChild(p *os.Process) {
	r.mu.Lock()
	r.child = p
	first := r.first
	r.mu.Unlock()
	if first != nil {
		_ = p.Signal(first)
	}
}

// signaled returns the first terminating signal, or nil.
func (r *relay) signaled() os.Signal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

// signalStatus is the shell's exit status for death by signal s.
func signalStatus(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 128
}

// ExecOptions configures exec.
type ExecOptions struct {
	Specs []Spec
	Login LoginOptions
	// Command is the program and its arguments.
	Command []string
	// SignalGrace is how long the command may take to exit after a
	// terminating signal before its credentials are revoked anyway (it
	// keeps running; the companion still waits for it). CI runners kill
	// everything a few seconds after the first signal, and a killed
	// companion cannot revoke. 0 waits for the command.
	SignalGrace time.Duration
}

// runExec is `cloudcreds exec`: log in, read every credential, run the
// command with them in its environment, renew while it runs, revoke
// everything when it ends, and exit with its status.
func (a *app) runExec(ctx context.Context, r *relay, o ExecOptions) (code int) {
	if len(o.Command) == 0 {
		return a.fail(failf(ExitUsage, "exec: no command; usage: cloudcreds exec --cred kind=path ... -- command [args]"))
	}
	path, err := exec.LookPath(o.Command[0])
	if err != nil {
		// Checked before anything is issued: nothing to revoke.
		return a.fail(startError(o.Command[0], err))
	}
	c, err := a.newClient()
	if err != nil {
		return a.fail(err)
	}
	s, err := a.login(ctx, c, o.Login)
	if err != nil {
		return a.setupFailed(r, nil, nil, err)
	}
	environ := envMap(a.environ)
	leases, err := a.issue(ctx, s, o.Specs, environ)
	if err != nil || ctx.Err() != nil {
		return a.setupFailed(r, s, leases, err)
	}
	vars := make([]Vars, len(leases))
	for i, l := range leases {
		vars[i] = l.vars
	}
	cmd := exec.Command(path, o.Command[1:]...)
	cmd.Args[0] = o.Command[0]
	// The companion's own login secret is not the command's business.
	cmd.Env = mergeEnv(a.environ, vars, []string{EnvAppRoleSecretID, EnvVaultToken})
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, a.stdout, a.stderr
	if err := cmd.Start(); err != nil {
		return a.setupFailed(r, s, leases, startError(o.Command[0], err))
	}
	r.setChild(cmd.Process)
	a.log.infof("running %s (pid %d) with %s", o.Command[0], cmd.Process.Pid, describe(leases))
	stop := a.watch(s, leases)

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var grace <-chan time.Time
	stopped := false
	for done := false; !done; {
		select {
		case <-waited:
			done = true
		case sig := <-r.term:
			a.log.infof("passed %v on to the command", sig)
			if grace == nil && o.SignalGrace > 0 {
				grace = time.After(o.SignalGrace)
			}
		case <-grace:
			a.log.warnf("the command is still running %s after the signal; revoking its credentials now", o.SignalGrace)
			stop()
			stopped = true
			if err := a.revokeLeases(s, leases); err != nil {
				a.log.warnf("%v", err)
			}
		}
	}
	if !stopped {
		stop()
	}
	code = exitStatus(cmd.ProcessState)
	a.log.infof("the command exited: %s", cmd.ProcessState)
	if err := a.cleanup(s, leases); err != nil {
		a.log.errorf("%v", err)
		if code == 0 {
			return ExitRevoke
		}
	}
	return code
}

// setupFailed revokes what was issued and returns the exit status: the
// signal's when a signal interrupted the setup, else the error's.
func (a *app) setupFailed(r *relay, s *session, leases []*lease, err error) int {
	if cerr := a.cleanup(s, leases); cerr != nil {
		a.log.errorf("%v", cerr)
	}
	if sig := r.signaled(); sig != nil {
		a.log.errorf("interrupted by %v before the command ran", sig)
		return signalStatus(sig)
	}
	if err == nil {
		err = failf(ExitInternal, "setup interrupted")
	}
	return a.fail(err)
}

// fail reports err and returns its exit status.
func (a *app) fail(err error) int {
	a.log.errorf("%v", err)
	return CodeOf(err)
}

// startError maps a failure to find or start the command to 127 (not
// found) or 126 (cannot execute), as shells do.
func startError(name string, err error) error {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return failf(ExitNotFound, "command %q not found: %v", name, err)
	}
	return failf(ExitCannotExecute, "cannot run %q: %v", name, err)
}

// exitStatus is the command's exit status, 128+n if signal n killed it.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return signalStatus(ws.Signal())
	}
	return ps.ExitCode()
}
