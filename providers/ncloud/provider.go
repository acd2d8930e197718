package ncloud

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// provider is one configured Ncloud instance.
type provider struct {
	instance string
	cfg      *config
	logger   hclog.Logger
	sts      *client // Secure Token Service
	sub      *client // Sub Account API v2 (and v1's search)
	now      func() time.Time

	targetMu sync.Mutex
	target   *providers.Target // cached by Target

	templates templateCache
}

var _ providers.Provider = (*provider)(nil)

// ValidateRole checks a role: sub_account roles need every policy to exist
// (one paged policy list) and a usable loginId template.
func (p *provider) ValidateRole(ctx context.Context, req providers.ValidateRoleRequest) error {
	switch req.CredentialType {
	case CredentialSTS:
		// A role whose default lease is shorter than the STS minimum
		// would issue keys that outlive their leases: refuse it now,
		// not at the first issue. (A ttl of 0 means the mount default,
		// checked at issue.)
		if req.TTL > 0 {
			_, err := stsDuration(req.TTL)
			return err
		}
		return nil
	case CredentialSubAccount:
		t, err := p.templates.get(req.Values.String(fieldLoginTemplate))
		if err != nil {
			return err
		}
		if err := t.CheckRole(req.Role); err != nil {
			return err
		}
		_, err = p.resolvePolicies(ctx, req.Values.Strings(fieldPolicies))
		return err
	}
	return unknownType(req.CredentialType)
}

// Prepare validates the request and, for sub_account, decides the loginId
// (the WAL intent). STS keys expire by themselves: no intent.
func (p *provider) Prepare(_ context.Context, req *providers.CreateRequest) (*providers.Intent, error) {
	switch req.CredentialType {
	case CredentialSTS:
		_, err := stsDuration(req.TTL)
		return nil, err
	case CredentialSubAccount:
		return p.prepareSubAccount(req)
	}
	return nil, unknownType(req.CredentialType)
}

// Create issues one credential.
func (p *provider) Create(ctx context.Context, req *providers.CreateRequest) (*providers.CreateResponse, error) {
	switch req.CredentialType {
	case CredentialSTS:
		return p.createSTS(ctx, req)
	case CredentialSubAccount:
		return p.createSubAccountCred(ctx, req)
	}
	return nil, unknownType(req.CredentialType)
}

// Renew reports the hard expiry: an STS key's expireTime; none for a sub
// account (renew is Vault-side up to max_ttl).
func (p *provider) Renew(_ context.Context, req *providers.RenewRequest) (*providers.RenewResponse, error) {
	switch req.CredentialType {
	case CredentialSTS:
		in, err := decodeSTSInternal(req.Internal)
		if err != nil {
			return nil, err
		}
		return &providers.RenewResponse{Expiry: time.Unix(in.ExpireTime, 0)}, nil
	case CredentialSubAccount:
		if _, err := decodeSubInternal(req.Internal); err != nil {
			return nil, err
		}
		return &providers.RenewResponse{}, nil
	}
	return nil, fmt.Errorf("renew: lease of unknown credential type %q: %w", req.CredentialType, providers.ErrUnrecoverable)
}

// Revoke removes a credential: nothing can end an STS key early (a
// warning says so); a sub account is deleted with its keys.
func (p *provider) Revoke(ctx context.Context, req *providers.RevokeRequest) (*providers.RevokeResponse, error) {
	switch req.CredentialType {
	case CredentialSTS:
		return p.revokeSTS(req)
	case CredentialSubAccount:
		return p.revokeSubAccount(ctx, req)
	}
	// Nothing this driver made: no retry can revoke it.
	p.logger.Error("revoke of a lease of unknown credential type", "credential_type", req.CredentialType)
	return nil, providers.ErrUnrecoverable
}

// Rollback undoes an unfinished sub_account create from its loginId.
func (p *provider) Rollback(ctx context.Context, req *providers.RollbackRequest) error {
	return p.rollbackSubAccount(ctx, req.Intent)
}

// Close releases nothing: the HTTP client is shared.
func (p *provider) Close() error { return nil }

func unknownType(t string) error {
	return providers.InvalidField("credential_type", "must be %s or %s, got %q", CredentialSTS, CredentialSubAccount, t)
}

// decodeInternal decodes a lease's internal data, which no retry can fix
// when it is corrupt.
func decodeInternal(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("lease internal data: %v: %w", err, providers.ErrUnrecoverable)
	}
	return nil
}
