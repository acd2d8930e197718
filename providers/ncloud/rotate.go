package ncloud

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// callerIdentityPath is STS's "who owns this key" API (get-caller-identity):
// GET /api/v1/caller-identity → {"id","loginAlias","userType": Customer|Sub|Role}.
const callerIdentityPath = "/api/v1/caller-identity"

// maxKeysPerSubAccount is the documented limit of access keys per sub
// account.
const maxKeysPerSubAccount = 2

// RotateRoot creates a second access key for the sub account that owns the
// configured key, returns it as the new config, and deletes the old key in
// Commit (signed with the new key) or the new one in Abort.
func (p *provider) RotateRoot(ctx context.Context) (*providers.RotateRootResponse, error) {
	if !p.cfg.fromConfig {
		return nil, providers.InvalidField(fieldAccessKey, "rotate-root replaces the access_key/secret_key stored in the config, and this config has none "+
			"(its credentials come from %s); write access_key and secret_key to the config first", p.sts.creds.source)
	}
	oldKey, _, err := p.sub.creds.get()
	if err != nil {
		return nil, err
	}
	subID, err := p.rootSubAccount(ctx, oldKey)
	if err != nil {
		return nil, err
	}
	keys, err := p.listAccessKeys(ctx, subID)
	if err != nil {
		return nil, fmt.Errorf("rotate-root: %w", err)
	}
	if !slices.Contains(keys, oldKey) {
		return nil, providers.InvalidField(fieldRootSubAccountID, "sub account %s does not own the configured access_key %s", subID, oldKey)
	}
	if len(keys) >= maxKeysPerSubAccount {
		return nil, providers.InvalidField(fieldAccessKey, "sub account %s already has %d access keys, the Ncloud maximum; delete the one Vault does not use before rotating", subID, len(keys))
	}
	key, err := p.createAccessKey(ctx, subID)
	if err != nil {
		return nil, fmt.Errorf("rotate-root: %w", err)
	}
	p.logger.Info("rotate-root: created a new access key", "sub_account_id", subID, "access_key", key.AccessKey)
	return &providers.RotateRootResponse{
		Config: providers.Values{fieldAccessKey: key.AccessKey, fieldSecretKey: key.KeySecret, fieldRootSubAccountID: subID},
		Data:   map[string]any{"access_key": key.AccessKey, "sub_account_id": subID},
		Commit: func(ctx context.Context) error {
			// Deleted with the new key: the old one is no longer in use.
			withNew := p.sub.withKey(key.AccessKey, key.KeySecret)
			if err := p.deleteAccessKey(ctx, withNew, subID, oldKey); err != nil {
				return fmt.Errorf("rotate-root: delete the old access key %s: %w", oldKey, err)
			}
			p.logger.Info("rotate-root: deleted the old access key", "sub_account_id", subID, "access_key", oldKey)
			return nil
		},
		Abort: func(ctx context.Context) error {
			return p.deleteAccessKey(ctx, p.sub, subID, key.AccessKey)
		},
	}, nil
}

// rootSubAccount returns the id of the sub account that owns accessKey:
// root_sub_account_id if configured, else STS caller-identity when it
// answers userType "Sub".
func (p *provider) rootSubAccount(ctx context.Context, accessKey string) (string, error) {
	if p.cfg.rootSubAccountID != "" {
		return p.cfg.rootSubAccountID, nil
	}
	var out struct {
		ID       string `json:"id"`
		UserType string `json:"userType"`
	}
	err := p.sts.do(ctx, call{op: "GetCallerIdentity", method: http.MethodGet, path: callerIdentityPath, out: &out, idempotent: true})
	if ae, ok := asAPIError(err); ok && ae.status == http.StatusNotFound {
		return "", providers.InvalidField(fieldRootSubAccountID, "is required for rotate-root: this endpoint has no caller-identity API to tell which sub account owns access_key %s; set root_sub_account_id to that sub account's id", accessKey)
	}
	if err != nil {
		return "", fmt.Errorf("rotate-root: %w", err)
	}
	if out.UserType != "Sub" || !isUUID(out.ID) {
		return "", providers.InvalidField(fieldAccessKey, "rotate-root needs a sub account key (the Sub Account API manages only sub account keys); access_key %s belongs to a %q identity. Set root_sub_account_id if it is a sub account key", accessKey, out.UserType)
	}
	return out.ID, nil
}
