package ncloud

import (
	"context"
	"fmt"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// maxActiveKeysPerSubAccount is the documented limit of active access
// keys per sub account (pub-iam-v2-sub-account-changeaccesskeystatus:
// LimitExceeded past two active keys; inactive keys do not count).
const maxActiveKeysPerSubAccount = 2

// RotateRoot creates another access key for the sub account that owns the
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
	owned, active := false, 0
	for _, k := range keys {
		if k.AccessKey == oldKey {
			owned = true
		}
		if k.active() {
			active++
		}
	}
	if !owned {
		return nil, providers.InvalidField(fieldRootSubAccountID, "sub account %s does not own the configured access_key %s", subID, oldKey)
	}
	if active >= maxActiveKeysPerSubAccount {
		return nil, providers.InvalidField(fieldAccessKey, "sub account %s already has %d active access keys, the Ncloud maximum; delete or deactivate the one Vault does not use before rotating", subID, active)
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
// root_sub_account_id if configured, else what STS caller-identity answers
// (userType Sub). Every error of caller-identity is Ncloud's answer about
// the credential (a 404 is documented as an invalid or expired one).
func (p *provider) rootSubAccount(ctx context.Context, accessKey string) (string, error) {
	if p.cfg.rootSubAccountID != "" {
		return p.cfg.rootSubAccountID, nil
	}
	ci, err := p.callerIdentity(ctx)
	if err != nil {
		return "", fmt.Errorf("rotate-root: which sub account owns access_key %s: %w", accessKey, err)
	}
	if ci.UserType != userSub || !isUUID(ci.ID) {
		return "", providers.InvalidField(fieldAccessKey, "rotate-root needs a sub account key (the Sub Account API manages only sub account keys); access_key %s belongs to a %q identity", accessKey, ci.UserType)
	}
	return ci.ID, nil
}
