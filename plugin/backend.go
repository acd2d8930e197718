// Package plugin is the Vault backend of vault-plugin-secrets-multicloud:
// paths, storage, leases, WAL and dispatch to the cloud drivers of a
// providers.Registry. It knows Vault and nothing about any cloud; it never
// imports a driver.
package plugin

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/locksutil"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/version"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

const backendHelp = `
The multicloud secrets engine issues short-lived cloud credentials for
several clouds from one mount: creds/<provider>/<role>. Each provider
instance is configured at config/<provider>, its roles at
roles/<provider>/<role>. Leases renew and revoke the credentials in the cloud.
`

// Factory returns a logical.Factory serving the given drivers.
func Factory(reg *providers.Registry) logical.Factory {
	return func(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
		b := New(reg)
		if conf != nil && conf.System != nil {
			c := *conf
			c.System = &cachedSystemView{SystemView: conf.System}
			conf = &c
		}
		if err := b.Setup(ctx, conf); err != nil {
			return nil, err
		}
		return b, nil
	}
}

// Backend is the multicloud secrets backend.
type Backend struct {
	*framework.Backend

	registry *providers.Registry

	// instances caches one open Provider per configured instance; a
	// config change or invalidation drops only that instance.
	mu        sync.RWMutex
	instances map[string]*instance
	gens      map[string]uint64

	// openLocks serialise opening one instance's provider.
	openLocks []*locksutil.LockEntry

	// configLocks serialise config writes and deletes per instance.
	configLocks []*locksutil.LockEntry

	// settingsMu serialises writes of the mount-wide settings.
	settingsMu sync.Mutex

	// inflight holds the WAL ids of creates running on this node, which
	// the rollback must leave alone whatever their age.
	inflight sync.Map

	// mountIDCache holds the mount id once known ("" until then).
	mountIDCache atomic.Value

	// roles and ttls cache what every issue reads (see cache.go).
	roles roleCache
	ttls  cachedValue[leaseTTLs]
}

// instance is an open provider with the config it was opened from.
type instance struct {
	cfg      *storedConfig
	provider providers.Provider
}

// New returns an unconfigured backend; Factory calls Setup on it.
func New(reg *providers.Registry) *Backend {
	b := &Backend{
		registry:    reg,
		instances:   map[string]*instance{},
		gens:        map[string]uint64{},
		openLocks:   locksutil.CreateLocks(),
		configLocks: locksutil.CreateLocks(),
	}
	b.Backend = &framework.Backend{
		Help:        strings.TrimSpace(backendHelp),
		BackendType: logical.TypeLogical,
		PathsSpecial: &logical.Paths{
			SealWrapStorage: []string{"config/"},
			LocalStorage:    []string{framework.WALPrefix},
		},
		Paths: framework.PathAppend(
			b.pathProviders(),
			b.pathConfig(),
			b.pathRoles(),
			b.pathCredsList(),
			b.pathCreds(),
			b.pathSettings(),
			b.pathAudit(),
		),
		Secrets:        []*framework.Secret{b.secretCredential()},
		PeriodicFunc:   b.periodic,
		InitializeFunc: b.initialize,
		Invalidate:     b.invalidate,
		Clean:          b.clean,
		RunningVersion: version.Version,
	}
	return b
}

// invalidate drops the cached provider of a config that changed on another
// node (or was written here).
func (b *Backend) invalidate(_ context.Context, key string) {
	if name, ok := strings.CutPrefix(key, configPrefix); ok {
		b.dropInstance(name)
	}
	if key == settingsKey {
		b.mountIDCache.Store("")
	}
	if strings.HasPrefix(key, rolePrefix) {
		b.roles.drop(key)
	}
}

// clean closes every open provider when the backend is unmounted or
// reloaded.
func (b *Backend) clean(_ context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, inst := range b.instances {
		_ = inst.provider.Close()
		delete(b.instances, name)
	}
}

func (b *Backend) dropInstance(name string) {
	b.mu.Lock()
	inst := b.instances[name]
	delete(b.instances, name)
	b.gens[name]++
	b.mu.Unlock()
	if inst != nil {
		_ = inst.provider.Close()
	}
}

// errNotConfigured is returned when a provider instance has no config.
type errNotConfigured struct{ name string }

func (e *errNotConfigured) Error() string {
	return fmt.Sprintf("provider %q is not configured (write config/%s first)", e.name, e.name)
}

// provider returns the open Provider of an instance, opening it from the
// stored config on first use. Opening may call the cloud, so it runs under
// a per-instance lock, never the backend-wide one: a slow cloud delays only
// its own instance. A generation counter, bumped whenever an instance is
// dropped or replaced, keeps a config read before a change from being
// cached after it.
func (b *Backend) provider(ctx context.Context, s logical.Storage, name string) (*instance, error) {
	b.mu.RLock()
	inst := b.instances[name]
	b.mu.RUnlock()
	if inst != nil {
		return inst, nil
	}

	lock := locksutil.LockForKey(b.openLocks, name)
	lock.Lock()
	defer lock.Unlock()
	b.mu.RLock()
	inst, gen := b.instances[name], b.gens[name]
	b.mu.RUnlock()
	if inst != nil {
		return inst, nil
	}
	cfg, err := loadConfig(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, &errNotConfigured{name: name}
	}
	p, err := b.open(ctx, name, cfg)
	if err != nil {
		return nil, err
	}
	inst = &instance{cfg: cfg, provider: p}

	b.mu.Lock()
	defer b.mu.Unlock()
	if cur := b.instances[name]; cur != nil || b.gens[name] != gen {
		// The config changed while we opened: ours may be stale.
		_ = p.Close()
		if cur != nil {
			return cur, nil
		}
		return nil, fmt.Errorf("the config of provider %q changed during the request; retry", name)
	}
	b.instances[name] = inst
	return inst, nil
}

// open opens a Provider on a stored config.
func (b *Backend) open(ctx context.Context, name string, cfg *storedConfig) (providers.Provider, error) {
	d, ok := b.registry.Driver(cfg.Driver)
	if !ok {
		return nil, fmt.Errorf("provider %q uses driver %q, which this plugin build does not have", name, cfg.Driver)
	}
	values, err := decodeValues(d.Info().ConfigFields, cfg.Values)
	if err != nil {
		return nil, fmt.Errorf("stored config of %q: %w", name, err)
	}
	values = upgradeConfig(d, values)
	return d.Open(ctx, providers.OpenRequest{
		Instance: name,
		Config:   values,
		Logger:   b.Logger().Named(name),
	})
}

// setInstance replaces the cached provider of an instance, closing the old.
func (b *Backend) setInstance(name string, inst *instance) {
	b.mu.Lock()
	old := b.instances[name]
	b.instances[name] = inst
	b.gens[name]++
	b.mu.Unlock()
	if old != nil && old.provider != inst.provider {
		_ = old.provider.Close()
	}
}

// driverInfo returns the info of an instance's driver.
func (b *Backend) driverInfo(driver string) (providers.DriverInfo, error) {
	d, ok := b.registry.Driver(driver)
	if !ok {
		return providers.DriverInfo{}, fmt.Errorf("driver %q is not in this plugin build", driver)
	}
	return d.Info(), nil
}

// mustDriver returns a registered driver; callers have checked it exists
// (driverInfo), so a missing one is nil and upgrades do nothing.
func (b *Backend) mustDriver(name string) providers.Driver {
	d, _ := b.registry.Driver(name)
	return d
}

// initialize runs when Vault initializes the mount (on the active node, or
// a local mount of a performance secondary): it makes sure the mount has
// its id, so settings shows it before the first credential is issued.
func (b *Backend) initialize(ctx context.Context, req *logical.InitializationRequest) error {
	if _, err := b.mountID(ctx, req.Storage); err != nil {
		b.Logger().Warn("could not store the mount id; it is made at the first issue", "error", err)
	}
	return nil
}
