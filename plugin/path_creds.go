package plugin

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
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

	limits := b.limits(role.TTL, role.MaxTTL)
	grant, err := lease.Issue(time.Duration(d.Get("ttl").(int))*time.Second, limits)
	if err != nil {
		return respondErr(badRequest("ttl: " + err.Error()))
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	creq := &providers.CreateRequest{
		Instance:       instName,
		Role:           roleName,
		CredentialType: ctype.Name,
		RoleValues:     roleValues,
		Params:         withDefaults(ctype.RequestFields, params),
		TTL:            grant.TTL,
		MaxTTL:         grant.MaxTTL,
		DisplayName:    req.DisplayName,
		ID:             id,
		Now:            now,
	}

	intent, err := inst.provider.Prepare(ctx, creq)
	if err != nil {
		return respondErr(err)
	}
	creq.Intent = intent
	walID := ""
	if len(intent) > 0 {
		// The intent is written before the driver's first mutating call,
		// so an object exists in the cloud only with a WAL entry or a
		// lease naming it.
		walID, err = putCreateWAL(ctx, req.Storage, createWAL{Provider: instName, Driver: info.Name, Role: roleName, Intent: string(intent)})
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

	grant, err = lease.CapAtExpiry(grant, now, cresp.Expiry)
	if err == nil {
		err = checkNoSecrets(cresp.Internal)
	}
	var resp *logical.Response
	if err == nil {
		resp, err = b.credentialResponse(instName, info.Name, roleName, role, ctype.Name, cresp, grant)
	}
	if err == nil && walID != "" {
		err = framework.DeleteWAL(ctx, req.Storage, walID)
	}
	if err != nil {
		// The credential exists but no lease will name it: remove it now.
		if _, rerr := inst.provider.Revoke(ctx, &providers.RevokeRequest{CredentialType: ctype.Name, Internal: cresp.Internal}); rerr != nil {
			b.Logger().Error("revoking a credential whose response could not be built failed; its WAL entry remains for rollback", "provider", instName, "role", roleName, "error", rerr)
		}
		return respondErr(err)
	}
	return resp, nil
}

// undoCreate rolls back a failed create at once. The WAL entry is removed
// only if the rollback succeeded; otherwise Vault's rollback manager
// retries it later.
func (b *Backend) undoCreate(ctx context.Context, s logical.Storage, p providers.Provider, walID string, intent json.RawMessage) {
	if walID == "" {
		return
	}
	if err := p.Rollback(ctx, &providers.RollbackRequest{Intent: intent}); err != nil {
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

func (b *Backend) credentialResponse(instName, driver, roleName string, role *storedRole, ctype string, cresp *providers.CreateResponse, grant lease.Grant) (*logical.Response, error) {
	internal := leaseData{
		Version:        leaseDataVersion,
		Provider:       instName,
		Driver:         driver,
		Role:           roleName,
		CredentialType: ctype,
		RoleTTL:        role.TTL,
		RoleMaxTTL:     role.MaxTTL,
		Data:           string(cresp.Internal),
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
