package reliability

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/e2e/vaulttest"
)

// cred is one issued credential.
type cred struct {
	provider string
	leaseID  string
	object   string
	secret   string
	issued   time.Time
}

// issue reads creds/<provider>/<role> once.
func issue(c *api.Client, cl *cloud) (cred, error) {
	sec, err := c.Logical().Read(mount + "/creds/" + cl.provider + "/" + cl.role)
	if err != nil {
		return cred{}, err
	}
	if sec == nil || sec.LeaseID == "" {
		return cred{}, fmt.Errorf("creds/%s/%s answered no lease", cl.provider, cl.role)
	}
	out := cred{provider: cl.provider, leaseID: sec.LeaseID, issued: time.Now(),
		object: fmt.Sprint(sec.Data[cl.objectField]), secret: fmt.Sprint(sec.Data[cl.secretField])}
	if out.object == "" || out.secret == "" {
		return cred{}, fmt.Errorf("creds/%s/%s answered no %s or %s", cl.provider, cl.role, cl.objectField, cl.secretField)
	}
	return out, nil
}

// ledger is what a test knows it was issued, concurrency-safe.
type ledger struct {
	mu      sync.Mutex
	live    map[string]cred // by lease id
	gone    map[string]cred // revoked by the test
	expired map[string]cred // revoked by Vault at the end of their TTL
	every   []cred          // everything ever issued
}

func newLedger() *ledger {
	return &ledger{live: map[string]cred{}, gone: map[string]cred{}, expired: map[string]cred{}}
}

// sync moves the live leases Vault no longer holds to expired: Vault
// revokes a lease nobody renewed once its TTL is over. One that vanished
// before its TTL fails the test.
func (l *ledger) sync(t *testing.T, s *vaulttest.Server, ttl time.Duration) int {
	t.Helper()
	held := map[string]bool{}
	for _, id := range s.Leases(t, mount+"/creds/") {
		held[id] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for id, c := range l.live {
		if held[id] {
			continue
		}
		if time.Since(c.issued) < ttl {
			t.Errorf("lease %s is gone from Vault %s after it was issued, before its TTL of %s", id, time.Since(c.issued).Round(time.Second), ttl)
			continue
		}
		delete(l.live, id)
		l.expired[id] = c
		n++
	}
	return n
}

// lastIssued is when the last credential was issued.
func (l *ledger) lastIssued() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var last time.Time
	for _, c := range l.every {
		if c.issued.After(last) {
			last = c.issued
		}
	}
	return last
}

func (l *ledger) add(c cred) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.live[c.leaseID] = c
	l.every = append(l.every, c)
}

func (l *ledger) revoked(leaseID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.live[leaseID]; ok {
		delete(l.live, leaseID)
		l.gone[leaseID] = c
	}
}

// liveOf returns the live credentials of a provider ("" for all), sorted
// by lease id.
func (l *ledger) liveOf(provider string) []cred {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []cred
	for _, c := range l.live {
		if provider == "" || c.provider == provider {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].leaseID < out[j].leaseID })
	return out
}

// oldestLive returns the live credential of a provider issued first (the
// caller holds no lock of the ledger).
func (l *ledger) oldestLive(provider string) *cred {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.every {
		if _, ok := l.live[c.leaseID]; ok && c.provider == provider {
			return &c
		}
	}
	return nil
}

// secrets returns every secret ever issued.
func (l *ledger) secrets() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.every))
	for _, c := range l.every {
		out = append(out, c.secret)
	}
	return out
}

// renewAll renews every live lease the test knows by an hour. A lease
// that can no longer be found is moved to expired if its TTL (ttl, 0 for
// roles whose leases never end during a test) is over or about to be;
// any other failure fails the test.
func renewAll(t *testing.T, c *api.Client, l *ledger, ttl time.Duration) int {
	t.Helper()
	n := 0
	for _, cr := range l.liveOf("") {
		sec, err := c.Sys().Renew(cr.leaseID, 3600)
		if err != nil && ttl > 0 && time.Since(cr.issued) > ttl-5*time.Second {
			l.mu.Lock()
			delete(l.live, cr.leaseID)
			l.expired[cr.leaseID] = cr
			l.mu.Unlock()
			continue
		}
		require.NoError(t, err, "renew %s", cr.leaseID)
		require.Equal(t, cr.leaseID, sec.LeaseID)
		n++
	}
	return n
}

// renewSome renews the n newest live leases the test knows and n others
// chosen at random among those issued less than maxAge ago (older ones
// may have expired, which Vault does on its own).
func renewSome(t *testing.T, c *api.Client, l *ledger, n int, maxAge time.Duration) int {
	t.Helper()
	l.mu.Lock()
	var live []cred
	for _, cr := range l.every {
		if _, ok := l.live[cr.leaseID]; ok && time.Since(cr.issued) < maxAge {
			live = append(live, cr)
		}
	}
	l.mu.Unlock()
	pick := map[string]bool{}
	for i := len(live) - 1; i >= 0 && i >= len(live)-n; i-- {
		pick[live[i].leaseID] = true
	}
	for range n {
		if len(live) > 0 {
			pick[live[rand.IntN(len(live))].leaseID] = true
		}
	}
	for id := range pick {
		sec, err := c.Sys().Renew(id, 3600)
		require.NoError(t, err, "renew %s", id)
		require.Equal(t, id, sec.LeaseID)
	}
	return len(pick)
}
