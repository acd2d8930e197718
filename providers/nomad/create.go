package nomad

import (
	"context"
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// createToken makes the token in (whose name is unique to this request and
// recorded in the WAL intent) in region, retrying what may fail
// transiently. Creating a token is not idempotent: Nomad makes a new token
// for every PUT /v1/acl/token. So after an attempt that may have taken
// effect (a 5xx, a dropped connection, a timeout) the next attempt first
// looks the name up (GET /v1/acl/tokens?filter=Name == "<name>"), and if
// the token exists reads it by accessor: Nomad's ACL.GetToken
// (nomad/acl_endpoint.go) answers a management caller with the whole
// token, SecretID included. Only if no token has the name is it created
// again. After a 429 (which Nomad sends before reading the request) it
// creates again without looking. Each try waits the backoff; look-ups are
// retried on their own.
//
// A lost attempt may still land after the lookup missed it, making a
// second token of the same name: retried reports that an ambiguous failure
// happened, and the lease then asks revoke to delete every token of the
// name. Extra tokens found by the lookup are deleted at once.
func (p *provider) createToken(ctx context.Context, in *api.ACLToken, region string) (tok *api.ACLToken, retried bool, err error) {
	rp := p.s.retry
	lookup, tries := false, 0
	for attempt := 0; attempt <= rp.maxRetries; attempt++ {
		if attempt > 0 {
			if perr := rp.pause(ctx, attempt); perr != nil {
				break
			}
		}
		if lookup {
			var found *api.ACLToken
			if ferr := rp.retry(ctx, func() error {
				var err error
				found, err = p.adopt(ctx, in.Name, region)
				return err
			}); ferr != nil {
				// Whether the token exists cannot be told: give up, and
				// let the plugin roll the create back by name.
				return nil, retried, fmt.Errorf("look up token %s after a failed create (%v): %w", in.Name, err, ferr)
			}
			if found != nil {
				p.logger.Info("an earlier create attempt had made the token", "name", in.Name, "accessor", found.AccessorID, "region", region)
				return found, retried, nil
			}
			lookup = false
		}
		tries++
		tok, _, err = p.client.ACLTokens().Create(in, p.writeOpts(ctx, region))
		if err == nil {
			return tok, retried, nil
		}
		switch classify(ctx, err) {
		case permanent:
			return nil, retried, err
		case ambiguous:
			lookup, retried = true, true
		}
		p.logger.Debug("create token attempt failed; retrying", "name", in.Name, "attempt", attempt+1, "error", err)
	}
	return nil, retried, fmt.Errorf("after %d attempts: %w", tries, err)
}

// adopt returns the token named name in region, read by accessor with its
// secret, or nil if there is none. Further tokens of the name are deleted.
func (p *provider) adopt(ctx context.Context, name, region string) (*api.ACLToken, error) {
	stubs, err := p.findByName(ctx, name, region)
	if err != nil || len(stubs) == 0 {
		return nil, err
	}
	tok, _, err := p.client.ACLTokens().Info(stubs[0].AccessorID, p.queryOpts(ctx, region))
	if err != nil {
		if isNonexistent(err) {
			return nil, nil // deleted meanwhile (by a concurrent rollback): create again
		}
		return nil, err
	}
	for _, extra := range stubs[1:] {
		if _, err := p.deleteToken(ctx, extra.AccessorID, region); err != nil {
			p.logger.Warn("could not delete a duplicate token; revoke will", "name", name, "accessor", extra.AccessorID, "error", err)
		}
	}
	return tok, nil
}
