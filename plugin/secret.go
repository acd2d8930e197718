package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/lease"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// secretTypeCredential is the one secret type of the backend.
const secretTypeCredential = "multicloud_credential"

// leaseDataVersion is the version of leaseData; bump it when its meaning
// changes and keep reading the old versions. Version 2 added the id (the
// key of the index of live credentials) and the target the credential was
// made in; version 1 leases have neither and are revoked unbound.
const leaseDataVersion = 2

// leaseData is a lease's InternalData: the provider instance and exactly
// what revoke and renew need, never a secret. Data is the driver's own
// JSON, kept as a string so it survives Vault's JSON round trips intact.
type leaseData struct {
	Version           int    `json:"version"`
	Provider          string `json:"provider"`
	Driver            string `json:"driver"`
	Role              string `json:"role"`
	CredentialType    string `json:"credential_type"`
	RoleTTL           int64  `json:"role_ttl"`
	RoleMaxTTL        int64  `json:"role_max_ttl"`
	ExpiresAt         int64  `json:"expires_at,omitempty"`
	Data              string `json:"data"`
	ID                string `json:"id,omitempty"`
	Target            string `json:"target,omitempty"`
	TargetDescription string `json:"target_description,omitempty"`
	SelfExpiring      bool   `json:"self_expiring,omitempty"`
}

// target is the target the credential was made in (zero if none was
// recorded).
func (l *leaseData) target() providers.Target {
	return providers.Target{ID: l.Target, Description: l.TargetDescription}
}

func (l leaseData) toMap() (map[string]any, error) {
	out := map[string]any{}
	if err := decodeInto(l, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func parseLeaseData(m map[string]any) (*leaseData, error) {
	var l leaseData
	if err := decodeInto(m, &l); err != nil {
		return nil, fmt.Errorf("lease internal data: %w", err)
	}
	if l.Version < 1 || l.Version > leaseDataVersion {
		return nil, fmt.Errorf("lease internal data has version %d; this plugin reads up to %d", l.Version, leaseDataVersion)
	}
	if l.Provider == "" {
		return nil, errors.New("lease internal data names no provider")
	}
	return &l, nil
}

func (l *leaseData) expiry() time.Time {
	if l.ExpiresAt == 0 {
		return time.Time{}
	}
	return time.Unix(l.ExpiresAt, 0)
}

func (b *Backend) secretCredential() *framework.Secret {
	return &framework.Secret{
		Type: secretTypeCredential,
		Fields: map[string]*framework.FieldSchema{
			"provider": {Type: framework.TypeString, Description: "Provider instance."},
		},
		Renew:  b.secretRenew,
		Revoke: b.secretRevoke,
	}
}

func (b *Backend) secretRenew(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	ctx = providers.WithOperation(ctx, providers.OpRenew)
	ld, err := parseLeaseData(req.Secret.InternalData)
	if err != nil {
		return nil, err
	}
	expiry := ld.expiry()
	var warnings []string
	inst, err := b.provider(ctx, req.Storage, ld.Provider)
	if err == nil {
		err = sameDriver(inst, ld.Provider, ld.Driver)
	}
	switch {
	case err == nil:
		rr, err := inst.provider.Renew(ctx, &providers.RenewRequest{
			CredentialType: ld.CredentialType,
			Internal:       json.RawMessage(ld.Data),
			Increment:      req.Secret.Increment,
			IssueTime:      req.Secret.IssueTime,
		})
		if err != nil {
			return respondErr(err)
		}
		if !rr.Expiry.IsZero() {
			expiry = rr.Expiry
		}
		warnings = rr.Warnings
	case errors.As(err, new(*errNotConfigured)):
		// Renew is Vault-side; the recorded expiry is all it needs.
	default:
		return nil, err
	}

	// Current role limits apply; the ones recorded at issue when the role
	// is gone.
	roleTTL, roleMax := ld.RoleTTL, ld.RoleMaxTTL
	if role, err := b.role(ctx, req.Storage, ld.Provider, ld.Role); err != nil {
		return nil, err
	} else if role != nil {
		roleTTL, roleMax = role.TTL, role.MaxTTL
	}
	g, err := lease.Renew(lease.RenewInput{
		Increment: req.Secret.Increment,
		Limits:    b.limits(roleTTL, roleMax),
		IssueTime: req.Secret.IssueTime,
		Now:       time.Now(),
		Expiry:    expiry,
	})
	if err != nil {
		return respondErr(badRequest(err.Error()))
	}
	resp := &logical.Response{Secret: req.Secret}
	resp.Secret.TTL = g.TTL
	resp.Secret.MaxTTL = g.MaxTTL
	b.touchLive(ctx, req.Storage, ld, time.Now().Add(g.TTL))
	for _, w := range append(g.Warnings, warnings...) {
		resp.AddWarning(w)
	}
	return resp, nil
}

func (b *Backend) secretRevoke(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	ctx = providers.WithOperation(ctx, providers.OpRevoke)
	ld, err := parseLeaseData(req.Secret.InternalData)
	if err != nil {
		// Nothing this plugin version can do with the lease; a newer
		// version may (a downgrade), so let Vault retry.
		return nil, err
	}
	if ld.SelfExpiring {
		return b.revokeSelfExpiring(ctx, req, ld)
	}
	inst, err := b.provider(ctx, req.Storage, ld.Provider)
	if err == nil {
		err = sameDriver(inst, ld.Provider, ld.Driver)
	}
	if err == nil {
		err = checkTarget(ctx, inst, ld.Provider, "credential", ld.target())
	}
	if err != nil {
		b.noteRevokeFailure(ctx, req.Storage, ld, err)
		return nil, err
	}
	rr, err := inst.provider.Revoke(ctx, &providers.RevokeRequest{CredentialType: ld.CredentialType, Internal: json.RawMessage(ld.Data)})
	if err != nil {
		b.noteRevokeFailure(ctx, req.Storage, ld, err)
		if errors.Is(err, providers.ErrUnrecoverable) {
			b.Logger().Error("revoke cannot succeed; the lease is marked irrevocable", "provider", ld.Provider, "role", ld.Role, "error", err)
			// The sentinel itself, unwrapped: gRPC keeps only exact values.
			return nil, logical.ErrUnrecoverable
		}
		return nil, fmt.Errorf("revoke %s credential of %s/%s: %w", ld.CredentialType, ld.Provider, ld.Role, err)
	}
	if err := deleteLive(ctx, req.Storage, ld.Provider, ld.Role, ld.ID); err != nil {
		// The credential is gone; a retry finds it gone and tries again.
		return nil, err
	}
	if len(rr.Warnings) == 0 {
		return nil, nil
	}
	return &logical.Response{Warnings: rr.Warnings}, nil
}

// revokeSelfExpiring ends the lease of a credential that cannot be revoked
// early (it expires by itself): the driver is asked only for its warning,
// and nothing about the instance (deleted, pointing elsewhere) can make the
// revoke fail.
func (b *Backend) revokeSelfExpiring(ctx context.Context, req *logical.Request, ld *leaseData) (*logical.Response, error) {
	resp := &logical.Response{}
	inst, err := b.provider(ctx, req.Storage, ld.Provider)
	if err == nil {
		err = sameDriver(inst, ld.Provider, ld.Driver)
	}
	var rr *providers.RevokeResponse
	if err == nil {
		rr, err = inst.provider.Revoke(ctx, &providers.RevokeRequest{CredentialType: ld.CredentialType, Internal: json.RawMessage(ld.Data)})
	}
	if err != nil || rr == nil {
		resp.AddWarning(fmt.Sprintf("%s credentials cannot be revoked early; this one stays valid until it expires", ld.CredentialType))
	} else {
		resp.Warnings = append(resp.Warnings, rr.Warnings...)
	}
	if err := deleteLive(ctx, req.Storage, ld.Provider, ld.Role, ld.ID); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkNoSecrets refuses to store a credential whose lease data, WAL
// intent or object names contain the value of one of its secret response
// fields (or of a field the driver did not declare). Values shorter than 8
// characters are not secrets of any cloud and would match by chance.
func checkNoSecrets(ctype providers.CredentialType, cresp *providers.CreateResponse, intent *providers.Intent) error {
	declared := make(map[string]providers.Field, len(ctype.ResponseFields))
	for _, f := range ctype.ResponseFields {
		declared[f.Name] = f
	}
	stored := []string{string(cresp.Internal)}
	if buf, err := json.Marshal(cresp.Objects); err == nil {
		stored = append(stored, string(buf))
	}
	if intent != nil {
		stored = append(stored, string(intent.Data))
		if buf, err := json.Marshal(intent.Objects); err == nil {
			stored = append(stored, string(buf))
		}
	}
	for key, v := range cresp.Data {
		if f, ok := declared[key]; ok && !f.Secret {
			continue
		}
		secret, ok := v.(string)
		if !ok || len(secret) < 8 {
			continue
		}
		for _, s := range stored {
			if strings.Contains(s, secret) {
				return fmt.Errorf("the driver's lease data holds the value of the credential's field %q, which is secret (or undeclared); refusing to store it", key)
			}
		}
	}
	return nil
}

// sameDriver refuses to hand a lease (or WAL entry) made by one driver to
// another: a provider instance deleted and configured again with another
// driver cannot revoke what the first one made. The error is retryable, so
// an operator who restores the config in time lets Vault's retries succeed.
func sameDriver(inst *instance, provider, driver string) error {
	if driver != "" && inst.cfg.Driver != driver {
		return fmt.Errorf("provider %q now uses driver %q, but this was made by driver %q; configure %q with driver=%s again to revoke it", provider, inst.cfg.Driver, driver, provider, driver)
	}
	return nil
}

// touchLive records a renewed lease's new expiry in its index entry.
func (b *Backend) touchLive(ctx context.Context, s logical.Storage, ld *leaseData, expire time.Time) {
	b.updateLive(ctx, s, ld, "a renewed lease's expiry", func(e *liveEntry) { e.ExpireTime = expire.Unix() })
}
