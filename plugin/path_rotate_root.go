package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/locksutil"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// abortTimeout bounds deleting the new root credential of a failed
// rotate-root.
const abortTimeout = 60 * time.Second

func (b *Backend) pathRotateRoot() *framework.Path {
	return &framework.Path{
		Pattern: "config/" + framework.GenericNameRegex("provider") + "/rotate-root$",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationVerb:   "rotate",
			OperationSuffix: "root",
		},
		Fields: map[string]*framework.FieldSchema{"provider": providerField()},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{
				Callback: b.handleRotateRoot,
				Summary:  "Replace the instance's root credential in the cloud and in storage; the old one is deleted.",
			},
		},
		HelpSynopsis: "Rotate a provider instance's root credential.",
		HelpDescription: "Creates a new root credential in the cloud, stores it, then deletes the old one. " +
			"If storing fails the new credential is deleted and the old one stays in use.",
	}
}

func (b *Backend) handleRotateRoot(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	ctx = providers.WithOperation(ctx, providers.OpAdmin)
	name := d.Get("provider").(string)
	lock := locksutil.LockForKey(b.configLocks, name)
	lock.Lock()
	defer lock.Unlock()

	inst, err := b.provider(ctx, req.Storage, name)
	if err != nil {
		return respondErr(err)
	}
	info, err := b.driverInfo(inst.cfg.Driver)
	if err != nil {
		return nil, err
	}
	rr, err := inst.provider.RotateRoot(ctx)
	if err != nil {
		return respondErr(err)
	}

	values, err := decodeValues(info.ConfigFields, inst.cfg.Values)
	if err != nil {
		return nil, err
	}
	values = upgradeConfig(b.mustDriver(inst.cfg.Driver), values)
	stored := providers.Values{}
	for _, f := range info.ConfigFields {
		if _, set := inst.cfg.Values[f.Name]; set {
			stored[f.Name] = values[f.Name]
		}
	}
	for k, v := range rr.Config {
		stored[k] = v
	}
	cfg := &storedConfig{Driver: inst.cfg.Driver, Values: encodeValues(stored), TidyInterval: inst.cfg.TidyInterval, TidyMinAge: inst.cfg.TidyMinAge}

	abort := func(cause error) (*logical.Response, error) {
		if rr.Abort != nil {
			// The request may have been cancelled (that may be why storing
			// failed); deleting the new credential must still happen.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer cancel()
			if aerr := rr.Abort(actx); aerr != nil {
				b.Logger().Error("rotate-root: deleting the new credential after a failure also failed", "provider", name, "error", aerr)
				return nil, fmt.Errorf("rotate-root failed (%w); deleting the new credential also failed: %v", cause, aerr)
			}
		}
		return respondErr(cause)
	}
	next, err := b.open(ctx, name, cfg)
	if err != nil {
		return abort(fmt.Errorf("open provider with the new credential: %w", err))
	}
	if err := putJSON(ctx, req.Storage, configPrefix+name, cfg); err != nil {
		_ = next.Close()
		return abort(err)
	}
	b.setInstance(name, &instance{cfg: cfg, provider: next})

	resp := &logical.Response{Data: rr.Data}
	if rr.Commit != nil {
		if err := rr.Commit(ctx); err != nil {
			b.Logger().Error("rotate-root: the new credential is stored but deleting the old one failed", "provider", name, "error", err)
			return nil, fmt.Errorf("the new root credential is stored and in use, but deleting the old one failed: %w", err)
		}
	}
	return resp, nil
}
