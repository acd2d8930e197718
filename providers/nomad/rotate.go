package nomad

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

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
	var self *api.ACLToken
	if err := p.s.retry.retry(ctx, func() error {
		var err error
		self, _, err = p.client.ACLTokens().Self(p.queryOpts(ctx, ""))
		return err
	}); err != nil {
		return nil, cloudErr("ReadSelfToken", err)
	}
	if self.Type != typeManagement {
		return nil, providers.InvalidField(fieldToken, "is a %s token; rotate-root needs a management token", self.Type)
	}
	// Both tokens live where the current one does: a global token in the
	// authoritative region.
	region, _, err := p.home(ctx, self.Global)
	if err != nil {
		return nil, err
	}
	now := p.d.now()
	name := fmt.Sprintf("vault-root-%s-%d", strings.Map(func(r rune) rune {
		if nameChar(r) {
			return r
		}
		return '-'
	}, p.instance), now.UnixNano())
	if len(name) > nomadMaxTokenNameLength {
		name = name[len(name)-nomadMaxTokenNameLength:]
	}
	created, _, err := p.createToken(ctx, &api.ACLToken{Name: name, Type: typeManagement, Global: self.Global}, region)
	if err != nil {
		return nil, cloudErr("CreateToken", err)
	}
	oldAccessor, newAccessor := self.AccessorID, created.AccessorID
	p.logger.Info("rotate-root: created the new management token", "accessor", newAccessor, "name", name, "old_accessor", oldAccessor, "region", region)

	deleteNew := func(ctx context.Context) error {
		if _, err := p.deleteToken(ctx, newAccessor, region); err != nil {
			return fmt.Errorf("delete the new management token (accessor %s): %w", newAccessor, err)
		}
		return nil
	}
	// The plugin reopens the instance with the new token next, which
	// reads /v1/acl/token/self where the instance acts. A global token
	// made in the authoritative region authenticates elsewhere only once
	// ACL replication has copied it: wait for that.
	if err := p.awaitUsable(ctx, created.SecretID); err != nil {
		if derr := deleteNew(context.WithoutCancel(ctx)); derr != nil {
			p.logger.Error("rotate-root: deleting the unusable new token failed", "accessor", newAccessor, "error", derr)
		}
		return nil, err
	}

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
			if _, err := np.deleteToken(ctx, oldAccessor, region); err != nil {
				return fmt.Errorf("delete the previous management token (accessor %s): %w", oldAccessor, err)
			}
			p.logger.Info("rotate-root: deleted the previous management token", "accessor", oldAccessor)
			return nil
		},
		Abort: deleteNew,
	}, nil
}

// usableWait bounds how long rotate-root waits for a new global token to
// reach the instance's region.
const usableWait = 30 * time.Second

// awaitUsable waits until secret authenticates where the instance acts
// (GET /v1/acl/token/self answers it), retrying Nomad's 403 while ACL
// replication catches up.
func (p *provider) awaitUsable(ctx context.Context, secret string) error {
	wctx, cancel := context.WithTimeout(ctx, usableWait)
	defer cancel()
	var err error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if perr := (retryPolicy{maxBackoff: time.Second}).pause(wctx, min(attempt, 4)); perr != nil {
				return fmt.Errorf("the new management token does not authenticate in region %s after %s (ACL replication?): %w", p.s.region, usableWait, cloudErr("ReadSelfToken", err))
			}
		}
		q := p.queryOpts(wctx, "")
		q.AuthToken = secret
		if _, _, err = p.client.ACLTokens().Self(q); err == nil {
			return nil
		}
		if code, _ := apiStatus(err); code != http.StatusForbidden && classify(wctx, err) == permanent {
			return cloudErr("ReadSelfToken", err)
		}
	}
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
	p.clusterMu.Lock()
	cl := p.cl
	p.clusterMu.Unlock()
	return &provider{d: p.d, instance: p.instance, s: &s, client: c, logger: p.logger, cl: cl}, nil
}
