package cloudcreds

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// revokeTimeout bounds the revocation of everything at the end.
const revokeTimeout = 60 * time.Second

// lease is one credential read from Vault.
type lease struct {
	spec     Spec
	id       string
	duration time.Duration // at issue
	renew    bool
	issued   time.Time
	vars     Vars
	revoked  bool
}

// expiry is when the lease ends unless renewed.
func (l *lease) expiry() time.Time { return l.issued.Add(l.duration) }

// issue reads every credential in order. On error it returns the leases
// issued so far, which the caller revokes.
func (a *app) issue(ctx context.Context, s *session, specs []Spec, environ map[string]string) ([]*lease, error) {
	var out []*lease
	for _, spec := range specs {
		l, err := a.issueOne(ctx, s, spec, environ)
		if l != nil {
			out = append(out, l)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// issueOne reads one credential. A lease it got is returned even when the
// data turns out not to be a credential of the kind, so it is revoked.
func (a *app) issueOne(ctx context.Context, s *session, spec Spec, environ map[string]string) (*lease, error) {
	what := "read " + spec.Path
	sec, err := s.client.Logical().ReadWithContext(ctx, spec.Path)
	if err != nil {
		return nil, classify(err, what, ExitNotCredential)
	}
	if sec == nil {
		return nil, failf(ExitNotCredential, "%s: Vault has nothing at this path (404); is the mount and role right?", what)
	}
	if sec.LeaseID == "" {
		return nil, failf(ExitNotCredential, "%s: the answer has no lease, so it is not a dynamic credential (a credential path looks like <mount>/creds/<provider>/<role>)", what)
	}
	l := &lease{
		spec: spec, id: sec.LeaseID, renew: sec.Renewable, issued: time.Now(),
		duration: time.Duration(sec.LeaseDuration) * time.Second,
	}
	renew := "renewable"
	if !l.renew {
		renew = "not renewable"
	}
	a.log.infof("issued %s credential %s: lease %s, ttl %s, %s", spec.Kind, spec.Path, l.id, l.duration, renew)
	v, err := spec.Kind.vars(sec.Data, environ)
	if err != nil {
		return l, failf(ExitNotCredential, "%s: %v", what, err)
	}
	l.vars = v
	a.log.redact(v.secretValues()...)
	return l, nil
}

// revokeLeases revokes every lease not yet revoked, concurrently, each
// with sync=true so the cloud object is gone when it returns. The lease id
// is in the request path (sys/leases/revoke/<id>), so a policy can allow
// exactly `sys/leases/revoke/<mount>/creds/*`.
func (a *app) revokeLeases(s *session, leases []*lease) error {
	ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, l := range leases {
		if l.revoked {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.client.Sys().RevokeWithOptionsWithContext(ctx, &api.RevokeOptions{LeaseID: l.id, Sync: true})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, classify(err, "revoke lease "+l.id, ExitRevoke))
				return
			}
			l.revoked = true
			a.log.infof("revoked lease %s", l.id)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// cleanup revokes the leases and then, if the companion made it, the
// login token. A lease that could not be revoked on its own still ends
// with the login token: Vault revokes a token's leases when it revokes the
// token (it queues them; they are gone within seconds). It returns an
// error only when something is left to its TTL.
func (a *app) cleanup(s *session, leases []*lease) error {
	leaseErr := a.revokeLeases(s, leases)
	if s == nil {
		return leaseErr
	}
	tokErr := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
		defer cancel()
		return s.revokeToken(ctx)
	}()
	if s.owned && tokErr == nil {
		a.log.infof("revoked the login token (accessor %s)", s.accessor)
	}
	switch {
	case leaseErr != nil && s.owned && tokErr == nil:
		a.log.warnf("%v; Vault revokes it with the login token, which is revoked", leaseErr)
		return nil
	case leaseErr != nil || tokErr != nil:
		return &Error{Code: ExitRevoke, Err: errors.Join(leaseErr, tokErr)}
	}
	return nil
}

// watcher renews one lease or token until stopped.
type watcher struct {
	stop chan struct{}
	done chan struct{}
}

// watch renews every renewable lease, and the token if it is renewable,
// with vault/api's LifetimeWatcher, asking each time for the lease's
// original duration. When Vault grants less, the lease has reached its
// max TTL: the companion warns once, with the time it ends. The returned
// function stops every watcher and waits for them.
func (a *app) watch(s *session, leases []*lease) func() {
	var ws []*watcher
	for _, l := range leases {
		if !l.renew {
			a.log.warnf("lease %s is not renewable: the credential ends at %s", l.id, stamp(l.expiry()))
			continue
		}
		sec := &api.Secret{LeaseID: l.id, LeaseDuration: int(l.duration.Seconds()), Renewable: true}
		ws = append(ws, a.watchOne(s.client, "lease "+l.id, "", sec, l.duration))
	}
	if s.ttl > 0 {
		if s.renewable {
			ws = append(ws, a.watchOne(s.client, "the Vault token (accessor "+s.accessor+")",
				"; Vault revokes every credential issued with it then", s.tokenSecret(), s.ttl))
		} else {
			a.log.warnf("the Vault token is not renewable: it and every credential issued with it end at %s", stamp(s.expiry()))
		}
	}
	return func() {
		for _, w := range ws {
			close(w.stop)
		}
		for _, w := range ws {
			<-w.done
		}
	}
}

func (a *app) watchOne(c *api.Client, name, note string, sec *api.Secret, want time.Duration) *watcher {
	w := &watcher{stop: make(chan struct{}), done: make(chan struct{})}
	lw, err := c.NewLifetimeWatcher(&api.LifetimeWatcherInput{
		Secret:        sec,
		Increment:     int(want.Seconds()),
		RenewBehavior: api.RenewBehaviorIgnoreErrors,
	})
	if err != nil {
		a.log.warnf("cannot renew %s: %v", name, err)
		close(w.done)
		return w
	}
	go lw.Start()
	go func() {
		defer close(w.done)
		defer lw.Stop()
		end := time.Now().Add(time.Duration(sec.LeaseDuration) * time.Second)
		if sec.Auth != nil {
			end = time.Now().Add(time.Duration(sec.Auth.LeaseDuration) * time.Second)
		}
		capped := false
		for {
			select {
			case <-w.stop:
				return
			case r := <-lw.RenewCh():
				got := time.Duration(r.Secret.LeaseDuration) * time.Second
				if r.Secret.Auth != nil {
					got = time.Duration(r.Secret.Auth.LeaseDuration) * time.Second
				}
				end = r.RenewedAt.Add(got)
				a.log.infof("renewed %s for %s", name, got)
				if got < want && !capped {
					capped = true
					a.log.warnf("%s reached its max TTL: it ends at %s (in %s) and cannot be renewed past it%s",
						name, stamp(end), time.Until(end).Round(time.Second), note)
				}
			case err := <-lw.DoneCh():
				switch {
				case err != nil:
					a.log.warnf("renewing %s failed: %v; it ends at %s%s", name, err, stamp(end), note)
				case !capped:
					a.log.warnf("%s can no longer be renewed: it ends at %s (in %s)%s", name, stamp(end), time.Until(end).Round(time.Second), note)
				}
				<-w.stop
				return
			}
		}
	}()
	return w
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// describe lists the leases for messages.
func describe(leases []*lease) string {
	s := ""
	for i, l := range leases {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s (%s)", l.id, l.spec.Kind)
	}
	return s
}
