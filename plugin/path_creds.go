package plugin

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/locksutil"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/lease"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

const (
	credsHelpSyn  = "Issue a credential of a role."
	credsHelpDesc = `
Reading creds/<provider>/<role> issues one short-lived credential with a
lease. Renewing the lease extends it (never past the cloud's hard expiry or
the role's max_ttl); revoking it removes the credential and everything made
for it from the cloud. Write to the path to pass ttl or the driver's request
parameters.`
)

func (b *Backend) pathCreds() []*framework.Path {
	fields := b.unionFields(func(d providers.DriverInfo) [][]providers.Field {
		var out [][]providers.Field
		for _, c := range d.CredentialTypes {
			out = append(out, c.RequestFields)
		}
		return out
	})
	fields["provider"] = providerField()
	fields["name"] = &framework.FieldSchema{Type: framework.TypeString, Description: "Role name.", Required: true}
	fields["ttl"] = &framework.FieldSchema{Type: framework.TypeDurationSecond, Description: "Requested lease TTL (default: the role's ttl)."}

	op := func(summary string) *framework.PathOperation {
		return &framework.PathOperation{
			Callback:                    b.handleCreds,
			Summary:                     summary,
			ForwardPerformanceStandby:   true,
			ForwardPerformanceSecondary: true,
		}
	}
	return []*framework.Path{{
		Pattern: "creds/" + framework.GenericNameRegex("provider") + "/" + framework.GenericNameRegex("name") + "$",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationVerb:   "generate",
			OperationSuffix: "credentials",
		},
		Fields: fields,
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   op("Issue a credential of the role."),
			logical.UpdateOperation: op("Issue a credential of the role, with a requested ttl or driver parameters."),
		},
		HelpSynopsis:    credsHelpSyn,
		HelpDescription: strings.TrimSpace(credsHelpDesc),
	}}
}

func (b *Backend) handleCreds(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	ctx = providers.WithOperation(ctx, providers.OpIssue)
	instName, roleName := d.Get("provider").(string), d.Get("name").(string)
	// A config write or delete of the instance waits for issues in flight
	// (and the reverse), so a config is never deleted under a create.
	lock := locksutil.LockForKey(b.configLocks, instName)
	lock.RLock()
	defer lock.RUnlock()

	inst, err := b.provider(ctx, req.Storage, instName)
	if err != nil {
		return respondErr(err)
	}
	role, err := loadRole(ctx, req.Storage, instName, roleName)
	if err != nil {
		return nil, err
	}
	if role == nil {
		return respondErr(fmt.Errorf("role %q of provider %q: %w", roleName, instName, providers.ErrNotFound))
	}
	info, err := b.driverInfo(inst.cfg.Driver)
	if err != nil {
		return nil, err
	}
	ctype, ok := info.CredentialType(role.CredentialType)
	if !ok {
		return nil, fmt.Errorf("role %q has credential_type %q, which driver %q no longer has", roleName, role.CredentialType, info.Name)
	}
	raw := withoutPathKeys(req.Data, "provider", "name", "ttl")
	if unknown := unknownFields(raw, ctype.RequestFields); len(unknown) > 0 {
		return respondErr(badRequest(fmt.Sprintf("credential_type %s: %s", ctype.Name, unknownFieldError(unknown, ctype.RequestFields, "ttl"))))
	}
	params, err := parseFields(ctype.RequestFields, raw)
	if err != nil {
		return respondErr(err)
	}
	roleValues, err := decodeValues(ctype.RoleFields, role.Values)
	if err != nil {
		return nil, err
	}
	roleValues = upgradeRole(b.mustDriver(inst.cfg.Driver), ctype.Name, roleValues)

	limits := b.limits(role.TTL, role.MaxTTL)
	grant, err := lease.Issue(time.Duration(d.Get("ttl").(int))*time.Second, limits)
	if err != nil {
		return respondErr(badRequest("ttl: " + err.Error()))
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	mount, err := b.mountID(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	creq := &providers.CreateRequest{
		Mark:           providers.Mark{Mount: mount, Instance: instName},
		Instance:       instName,
		Role:           roleName,
		CredentialType: ctype.Name,
		RoleValues:     roleValues,
		Params:         withDefaults(ctype.RequestFields, params),
		TTL:            grant.TTL,
		MaxTTL:         grant.MaxTTL,
		DisplayName:    req.DisplayName,
		ID:             id,
		Now:            time.Now(),
	}

	intent, err := inst.provider.Prepare(ctx, creq)
	if err != nil {
		return respondErr(err)
	}
	// The credential is bound to the target it is made in: its revoke
	// and rollback will refuse to act anywhere else.
	var target providers.Target
	if !ctype.SelfExpiring {
		if target, err = inst.provider.Target(ctx); err != nil {
			return respondErr(fmt.Errorf("identify the target of provider %q: %w", instName, err))
		}
	}
	walID := ""
	if intent != nil {
		creq.Intent = intent.Data
		// The intent is written before the driver's first mutating call,
		// so an object exists in the cloud only with a WAL entry or a
		// lease naming it.
		walID, err = putCreateWAL(ctx, req.Storage, createWAL{
			Provider: instName, Driver: info.Name, Role: roleName, ID: id,
			CredentialType: ctype.Name, Target: target.ID, TargetDescription: target.Description,
			Intent: string(intent.Data), Objects: intent.Objects,
		})
		if err != nil {
			return nil, err
		}
	}
	defer b.markInFlight(walID)()

	cresp, err := inst.provider.Create(ctx, creq)
	if err != nil {
		b.undoCreate(ctx, req.Storage, inst.provider, walID, intent)
		return respondErr(err)
	}

	// The lease's clock starts when Vault registers it, after this
	// response: count the cloud's hard expiry from now, after the create,
	// so the lease never outlives the credential by the create's latency.
	issued := time.Now()
	grant, err = lease.CapAtExpiry(grant, issued, cresp.Expiry)
	if err == nil {
		err = checkNoSecrets(ctype, cresp, intent)
	}
	var resp *logical.Response
	live := &liveEntry{
		ID: id, Role: roleName, CredentialType: ctype.Name,
		IssueTime: issued.Unix(), ExpireTime: issued.Add(grant.TTL).Unix(), MaxExpireTime: issued.Add(grant.MaxTTL).Unix(),
		Target: target.ID, TargetDescription: target.Description, SelfExpiring: ctype.SelfExpiring, Objects: cresp.Objects,
	}
	if err == nil {
		resp, err = b.credentialResponse(instName, info.Name, roleName, role, ctype, cresp, grant, id, target)
	}
	liveWritten := false
	if err == nil {
		// The index entry is written before the WAL entry goes, so the
		// credential is always named by one of them.
		if err = putLive(ctx, req.Storage, instName, live); err == nil {
			liveWritten = true
		}
	}
	if err == nil && walID != "" {
		err = framework.DeleteWAL(ctx, req.Storage, walID)
	}
	if err != nil {
		// The credential exists but no lease will name it: remove it now.
		if _, rerr := inst.provider.Revoke(ctx, &providers.RevokeRequest{CredentialType: ctype.Name, Internal: cresp.Internal}); rerr != nil {
			b.Logger().Error("revoking a credential whose response could not be built failed; its WAL entry remains for rollback", "provider", instName, "role", roleName, "error", rerr)
		} else {
			// Revoked: nothing remains for the index or the WAL to name.
			if liveWritten {
				if derr := deleteLive(ctx, req.Storage, instName, roleName, id); derr != nil {
					b.Logger().Warn("removing the index entry of a credential revoked at issue failed", "error", derr)
				}
			}
			if walID != "" {
				if derr := framework.DeleteWAL(ctx, req.Storage, walID); derr != nil {
					b.Logger().Warn("removing the WAL entry of a credential revoked at issue failed; the rollback will find nothing", "error", derr)
				}
			}
		}
		return respondErr(err)
	}
	return resp, nil
}

// undoCreate rolls back a failed create at once. The WAL entry is removed
// only if the rollback succeeded; otherwise Vault's rollback manager
// retries it later.
func (b *Backend) undoCreate(ctx context.Context, s logical.Storage, p providers.Provider, walID string, intent *providers.Intent) {
	if walID == "" || intent == nil {
		return
	}
	if err := p.Rollback(ctx, &providers.RollbackRequest{Intent: intent.Data}); err != nil {
		b.Logger().Warn("immediate rollback of a failed create failed; the rollback manager will retry", "wal_id", walID, "error", err)
		return
	}
	if err := framework.DeleteWAL(ctx, s, walID); err != nil {
		b.Logger().Warn("deleting the WAL entry of a rolled-back create failed", "wal_id", walID, "error", err)
	}
}

// limits returns the role's and the mount's TTL bounds.
func (b *Backend) limits(roleTTL, roleMaxTTL int64) lease.Limits {
	sys := b.System()
	return lease.Limits{
		RoleTTL:         time.Duration(roleTTL) * time.Second,
		RoleMaxTTL:      time.Duration(roleMaxTTL) * time.Second,
		MountDefaultTTL: sys.DefaultLeaseTTL(),
		MountMaxTTL:     sys.MaxLeaseTTL(),
	}
}

func (b *Backend) credentialResponse(instName, driver, roleName string, role *storedRole, ctype providers.CredentialType, cresp *providers.CreateResponse, grant lease.Grant, id string, target providers.Target) (*logical.Response, error) {
	internal := leaseData{
		Version:           leaseDataVersion,
		Provider:          instName,
		Driver:            driver,
		Role:              roleName,
		CredentialType:    ctype.Name,
		RoleTTL:           role.TTL,
		RoleMaxTTL:        role.MaxTTL,
		Data:              string(cresp.Internal),
		ID:                id,
		Target:            target.ID,
		TargetDescription: target.Description,
		SelfExpiring:      ctype.SelfExpiring,
	}
	if !cresp.Expiry.IsZero() {
		internal.ExpiresAt = cresp.Expiry.Unix()
	}
	im, err := internal.toMap()
	if err != nil {
		return nil, err
	}
	resp := b.Secret(secretTypeCredential).Response(cresp.Data, im)
	resp.Secret.TTL = grant.TTL
	resp.Secret.MaxTTL = grant.MaxTTL
	resp.Secret.Renewable = cresp.Renewable
	for _, w := range append(grant.Warnings, cresp.Warnings...) {
		resp.AddWarning(w)
	}
	return resp, nil
}

// newID returns a random lowercase id of 13 characters ([a-z2-7]).
func newID() (string, error) {
	var buf [8]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(buf[:])), nil
}
