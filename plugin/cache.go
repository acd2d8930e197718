package plugin

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
)

// Issuing a credential reads the role and the mount's TTLs. For a plugin
// each is a round trip over its gRPC channel to Vault, and under a burst
// of issues those round trips, not the cloud, dominate (make bench: 50
// concurrent Nomad issues). Both are cached here.

// roleCache holds roles read from storage. A role write or delete on this
// node, and an invalidation from another node (Vault calls Invalidate for
// every replicated key that changes), drop the entry. A read that raced a
// write does not cache what it read: gen counts writes.
type roleCache struct {
	mu    sync.RWMutex
	gen   uint64
	roles map[string]*storedRole // role key -> role
}

func (c *roleCache) get(key string) (*storedRole, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.roles[key]
	return r, c.gen, ok
}

func (c *roleCache) put(key string, r *storedRole, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.roles == nil {
		c.roles = map[string]*storedRole{}
	}
	c.roles[key] = r
}

func (c *roleCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.roles, key)
}

// role returns a role, from the cache when it holds it. Callers must not
// modify the returned role.
func (b *Backend) role(ctx context.Context, s logical.Storage, instance, name string) (*storedRole, error) {
	key := roleKey(instance, name)
	if r, _, ok := b.roles.get(key); ok {
		return r, nil
	}
	_, gen, _ := b.roles.get(key)
	r, err := loadRole(ctx, s, instance, name)
	if err != nil || r == nil {
		return r, err
	}
	b.roles.put(key, r, gen)
	return r, nil
}

// mountTTLCacheFor is how long the mount's default and max lease TTLs are
// reused. Vault caps every lease at the mount's current max when it
// registers it, so a tune takes effect at once for the lease; the plugin's
// own use of the values (the TTL it asks the cloud for) lags by at most this.
const mountTTLCacheFor = 2 * time.Second

// leaseTTLs are the mount's default and max lease TTLs.
type leaseTTLs struct{ def, max time.Duration }

// mountTTLs returns the mount's default and max lease TTLs.
func (b *Backend) mountTTLs() (def, max time.Duration) {
	v := b.ttls.get(mountTTLCacheFor, func() leaseTTLs {
		sys := b.System()
		return leaseTTLs{sys.DefaultLeaseTTL(), sys.MaxLeaseTTL()}
	})
	return v.def, v.max
}

// replicationCacheFor is how long the replication state and the mount's
// local flag are reused (a time.Duration; tests shorten it).
//
// framework.Backend.HandleRequest asks the system view for both on every
// request to a path declared with Operations, to refuse writes on a
// performance standby or secondary (sdk framework/backend.go): for a
// plugin that is two more gRPC round trips to Vault per issue, which the
// builtin engines make in process. In Vault (vault/dynamic_system_view.go)
// the local flag is the mount entry's and the performance-standby bit is
// fixed when the mount's system view is made; only the cluster's
// replication state can change under a mount, when an operator changes
// replication, and the cache follows it within a second. Within that
// second the plugin's storage writes are the backstop (for a revocable
// credential the WAL entry, written before the cloud's create): where
// writes are not allowed they fail with logical.ErrReadOnly, which Vault
// forwards like the framework's own refusal (Core.doRouting,
// vault/request_handling.go).
var replicationCacheFor atomic.Int64

func init() { replicationCacheFor.Store(int64(time.Second)) }

// cachedSystemView answers ReplicationState and LocalMount from a cache
// of at most replicationCacheFor each; every other method goes to Vault.
type cachedSystemView struct {
	logical.SystemView

	state cachedValue[consts.ReplicationState]
	local cachedValue[bool]
}

// ReplicationState implements logical.SystemView.
func (s *cachedSystemView) ReplicationState() consts.ReplicationState {
	return s.state.get(time.Duration(replicationCacheFor.Load()), s.SystemView.ReplicationState)
}

// LocalMount implements logical.SystemView.
func (s *cachedSystemView) LocalMount() bool {
	return s.local.get(time.Duration(replicationCacheFor.Load()), s.SystemView.LocalMount)
}

// cachedValue is one value read from Vault and when it was read.
type cachedValue[T any] struct {
	mu sync.Mutex
	at time.Time
	v  T
}

// get returns the cached value, calling read when it is older than maxAge.
func (c *cachedValue[T]) get(maxAge time.Duration, read func() T) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || time.Since(c.at) > maxAge {
		c.v, c.at = read(), time.Now()
	}
	return c.v
}
