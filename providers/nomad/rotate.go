package nomad

import (
	"context"
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// RotateRoot implements providers.Provider. Nomad cannot change a token's
// secret in place, so rotation replaces the token: it reads the current
// token (/v1/acl/token/self), creates a new management token with the same
// global mode, returns it as the new config token, and Commit deletes the
// old token by accessor once the new config is stored (Abort deletes the
// new one instead). A token taken from NOMAD_TOKEN is not rotated: the
// plugin does not own it.
func (p *provider) RotateRoot(ctx context.Context) (*providers.RotateRootResponse, error) {
	if p.s.tokenFromEnv {
		return nil, providers.InvalidField(fieldToken, "is not set in the config (it comes from %s); rotate-root only replaces a token stored in the config. Write config with token=... first", envToken)
	}
	self, _, err := p.client.ACLTokens().Self(p.queryOpts(ctx))
	if err != nil {
		return nil, cloudErr("ReadSelfToken", err)
	}
	if self.Type != typeManagement {
		return nil, providers.InvalidField(fieldToken, "is a %s token; rotate-root needs a management token", self.Type)
	}
	now := p.d.now()
	name := sanitizeName(fmt.Sprintf("vault-root-%s-%d", p.instance, now.UnixNano()))
	if len(name) > nomadMaxTokenNameLength {
		name = name[:nomadMaxTokenNameLength]
	}
	created, _, err := p.client.ACLTokens().Create(&api.ACLToken{Name: name, Type: typeManagement, Global: self.Global}, p.writeOpts(ctx))
	if err != nil {
		return nil, cloudErr("CreateToken", err)
	}
	oldAccessor, newAccessor := self.AccessorID, created.AccessorID
	p.logger.Info("rotate-root: created the new management token", "accessor", newAccessor, "name", name, "old_accessor", oldAccessor)

	return &providers.RotateRootResponse{
		Config: providers.Values{fieldToken: created.SecretID},
		Data: map[string]any{
			"accessor_id":          newAccessor,
			"name":                 name,
			"previous_accessor_id": oldAccessor,
		},
		Commit: func(ctx context.Context) error {
			// Delete the old token with the new one: this also proves the
			// new token works before the old one is gone.
			np, err := p.withToken(created.SecretID)
			if err != nil {
				return fmt.Errorf("delete the previous management token (accessor %s): %w", oldAccessor, err)
			}
			defer np.client.Close()
			if _, err := np.deleteToken(ctx, oldAccessor); err != nil {
				return fmt.Errorf("delete the previous management token (accessor %s): %w", oldAccessor, err)
			}
			p.logger.Info("rotate-root: deleted the previous management token", "accessor", oldAccessor)
			return nil
		},
		Abort: func(ctx context.Context) error {
			if _, err := p.deleteToken(ctx, newAccessor); err != nil {
				return fmt.Errorf("delete the new management token (accessor %s): %w", newAccessor, err)
			}
			return nil
		},
	}, nil
}

// withToken returns a provider like p whose client authenticates with
// token.
func (p *provider) withToken(token string) (*provider, error) {
	s := *p.s
	s.token, s.tokenFromEnv = token, false
	c, err := newClient(&s)
	if err != nil {
		return nil, err
	}
	np := *p
	np.s, np.client = &s, c
	return &np, nil
}
