package reliability

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"
)

// cred is one issued credential.
type cred struct {
	provider string
	leaseID  string
	object   string
	secret   string
}

// issue reads creds/<provider>/ci once.
func issue(c *api.Client, cl *cloud) (cred, error) {
	sec, err := c.Logical().Read(mount + "/creds/" + cl.provider + "/" + role)
	if err != nil {
		return cred{}, err
	}
	if sec == nil || sec.LeaseID == "" {
		return cred{}, fmt.Errorf("creds/%s/%s answered no lease", cl.provider, role)
	}
	out := cred{provider: cl.provider, leaseID: sec.LeaseID,
		object: fmt.Sprint(sec.Data[cl.objectField]), secret: fmt.Sprint(sec.Data[cl.secretField])}
	if out.object == "" || out.secret == "" {
		return cred{}, fmt.Errorf("creds/%s/%s answered no %s or %s", cl.provider, role, cl.objectField, cl.secretField)
	}
	return out, nil
}

// ledger is what a test knows it was issued, concurrency-safe.
type ledger struct {
	mu    sync.Mutex
	live  map[string]cred // by lease id
	gone  map[string]cred // revoked by the test
	every []cred          // everything ever issued
}

func newLedger() *ledger { return &ledger{live: map[string]cred{}, gone: map[string]cred{}} }

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

// renewAll renews every live lease the test knows.
func renewAll(t *testing.T, c *api.Client, l *ledger) int {
	t.Helper()
	n := 0
	for _, cr := range l.liveOf("") {
		sec, err := c.Sys().Renew(cr.leaseID, 3600)
		require.NoError(t, err, "renew %s", cr.leaseID)
		require.Equal(t, cr.leaseID, sec.LeaseID)
		n++
	}
	return n
}

// renewSome renews the n newest live leases the test knows and n others
// chosen at random.
func renewSome(t *testing.T, c *api.Client, l *ledger, n int) int {
	t.Helper()
	l.mu.Lock()
	var live []cred
	for _, cr := range l.every {
		if _, ok := l.live[cr.leaseID]; ok {
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
