package plugin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// walKindCreate is the WAL kind of an unfinished create.
const walKindCreate = "create"

// createWAL is the intent of one create, written before the driver's first
// mutating call. Intent is the driver's own JSON (names of what it will
// make; never a secret).
type createWAL struct {
	Provider string `json:"provider"`
	Driver   string `json:"driver"`
	Role     string `json:"role"`
	Intent   string `json:"intent"`
	// ID is the create's id: the key of its index entry, which a rollback
	// removes (a create whose WAL entry remains never answered, so no
	// lease holds that entry).
	ID             string `json:"id,omitempty"`
	CredentialType string `json:"credential_type,omitempty"`
	// Target is where the create acts; a rollback refuses to act anywhere
	// else.
	Target            string                `json:"target,omitempty"`
	TargetDescription string                `json:"target_description,omitempty"`
	Objects           []providers.ObjectRef `json:"objects,omitempty"`
}

func (w *createWAL) target() providers.Target {
	return providers.Target{ID: w.Target, Description: w.TargetDescription}
}

// putCreateWAL is the one typed writer of walKindCreate entries.
func putCreateWAL(ctx context.Context, s logical.Storage, w createWAL) (string, error) {
	id, err := framework.PutWAL(ctx, s, walKindCreate, w)
	if err != nil {
		return "", fmt.Errorf("write WAL: %w", err)
	}
	return id, nil
}

// walRollback undoes the create of one WAL entry (see rollbackWAL, which
// deletes the entry when it returns nil).
func (b *Backend) walRollback(ctx context.Context, req *logical.Request, kind string, data any) error {
	ctx = providers.WithOperation(ctx, providers.OpRollback)
	if kind != walKindCreate {
		b.Logger().Warn("dropping WAL entry of unknown kind", "kind", kind)
		return nil
	}
	var w createWAL
	if err := decodeInto(data, &w); err != nil {
		return fmt.Errorf("decode WAL entry: %w", err)
	}
	inst, err := b.provider(ctx, req.Storage, w.Provider)
	if err == nil {
		err = sameDriver(inst, w.Provider, w.Driver)
	}
	if err == nil {
		err = checkTarget(ctx, inst, w.Provider, "unfinished create", w.target())
	}
	if err != nil {
		return fmt.Errorf("rollback of a create for provider %q: %w", w.Provider, err)
	}
	if err := inst.provider.Rollback(ctx, &providers.RollbackRequest{Intent: json.RawMessage(w.Intent)}); err != nil {
		return fmt.Errorf("rollback of a create for %s/%s: %w", w.Provider, w.Role, err)
	}
	if err := deleteLive(ctx, req.Storage, w.Provider, w.Role, w.ID); err != nil {
		return err
	}
	b.Logger().Info("rolled back an unfinished create", "provider", w.Provider, "role", w.Role)
	return nil
}

// walEntriesFor returns the unfinished creates of a provider instance.
func (b *Backend) walEntriesFor(ctx context.Context, s logical.Storage, name string) ([]createWAL, error) {
	ids, err := framework.ListWAL(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []createWAL
	for _, id := range ids {
		e, err := framework.GetWAL(ctx, s, id)
		if err != nil {
			return nil, err
		}
		if e == nil || e.Kind != walKindCreate {
			continue
		}
		var w createWAL
		if err := decodeInto(e.Data, &w); err == nil && w.Provider == name {
			out = append(out, w)
		}
	}
	return out, nil
}
