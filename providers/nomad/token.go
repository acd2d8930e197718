package nomad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// provider is one configured Nomad instance. It is safe for concurrent
// use: it holds immutable settings, the (concurrency-safe) client and the
// cluster facts it reads once.
type provider struct {
	d        *Driver
	instance string
	s        *settings
	client   *api.Client
	logger   hclog.Logger

	clusterMu sync.Mutex
	cl        *cluster
}

var _ providers.Provider = (*provider)(nil)

// intent is the WAL entry of one create: the token's unique name and
// where it will live.
type intent struct {
	TokenName string `json:"token_name"`
	// Global tokens are created and live in the authoritative region.
	Global bool `json:"global,omitempty"`
	// Region is the region the token will live in (the authoritative
	// region of a global token); "" in intents of earlier versions.
	Region string `json:"region,omitempty"`
}

// internal is a lease's internal data: the accessor to delete, the name
// (for operators and the sweep) and the region that owns the token.
// Never the secret.
type internal struct {
	AccessorID string `json:"accessor_id"`
	TokenName  string `json:"token_name"`
	// Global reports a global token.
	Global bool `json:"global,omitempty"`
	// Region is the region that owns the token: the instance's region
	// for a local token, the authoritative region for a global one. ""
	// in leases of earlier versions.
	Region string `json:"region,omitempty"`
	// AuthoritativeRegion is the ACL authoritative region a global token
	// was created in.
	AuthoritativeRegion string `json:"authoritative_region,omitempty"`
	// SweepName asks revoke to delete every token of this name: a create
	// attempt whose answer was lost may have made a second one.
	SweepName bool `json:"sweep_name,omitempty"`
}

func unknownType(t string) error {
	return providers.InvalidField("credential_type", "unknown credential type %q (the Nomad driver issues %q)", t, CredentialToken)
}

// Prepare implements providers.Provider: it checks the role and decides
// the token's name and region, which the plugin writes to the WAL before
// Create.
func (p *provider) Prepare(ctx context.Context, req *providers.CreateRequest) (*providers.Intent, error) {
	if req.CredentialType != CredentialToken {
		return nil, unknownType(req.CredentialType)
	}
	r, err := parseRole(req.RoleValues)
	if err != nil {
		return nil, err
	}
	name, err := p.s.names.Render(p.nameData(req.Role, req.DisplayName, req.ID, req.Now.Unix()))
	if err != nil {
		return nil, err
	}
	// The mark prefix (mark.go), for which the template left room. A
	// request without a mark (the conformance suite calls the driver
	// directly) makes an unmarked token.
	if req.Mark != (providers.Mark{}) {
		if err := checkMark(req.Mark, p.instance); err != nil {
			return nil, fmt.Errorf("nomad create: %w", err)
		}
		name = markPrefix(req.Mark) + name
	}
	region, _, err := p.home(ctx, r.global)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(intent{TokenName: name, Global: r.global, Region: region})
	if err != nil {
		return nil, err
	}
	return &providers.Intent{Data: data, Objects: []providers.ObjectRef{{Kind: "token", Name: name}}}, nil
}

// Create implements providers.Provider: PUT /v1/acl/token in the region
// the token will live in, retried safely (see createToken).
func (p *provider) Create(ctx context.Context, req *providers.CreateRequest) (*providers.CreateResponse, error) {
	if req.CredentialType != CredentialToken {
		return nil, unknownType(req.CredentialType)
	}
	r, err := parseRole(req.RoleValues)
	if err != nil {
		return nil, err
	}
	var it intent
	if err := json.Unmarshal(req.Intent, &it); err != nil || it.TokenName == "" {
		return nil, fmt.Errorf("nomad create: intent without a token name: %s", req.Intent)
	}
	region, authoritative, err := p.home(ctx, r.global)
	if err != nil {
		return nil, err
	}
	if it.Region != "" && it.Region != region {
		return nil, fmt.Errorf("nomad create: the intent says region %s, the instance now acts in %s", it.Region, region)
	}
	in := &api.ACLToken{Name: it.TokenName, Type: r.typ, Global: r.global, ExpirationTTL: r.expirationTTL}
	if r.typ == typeClient {
		in.Policies = r.policies
		for _, name := range r.roles {
			in.Roles = append(in.Roles, &api.ACLTokenRoleLink{Name: name})
		}
	}
	tok, retried, err := p.createToken(ctx, in, region)
	if err != nil {
		return nil, createErr(err, r)
	}
	if tok.AccessorID == "" || tok.SecretID == "" {
		return nil, &providers.CloudError{Op: "CreateToken", Code: "IncompleteResponse", Message: "Nomad's answer has no accessor or secret"}
	}
	p.logger.Debug("created token", "name", it.TokenName, "accessor", tok.AccessorID, "type", r.typ, "global", r.global, "region", region, "ambiguous_retry", retried)

	lease := internal{AccessorID: tok.AccessorID, TokenName: tok.Name, Global: r.global, Region: region, SweepName: retried}
	if r.global {
		lease.AuthoritativeRegion = authoritative
	}
	internalJSON, err := json.Marshal(lease)
	if err != nil {
		return nil, err
	}
	data := map[string]any{
		"secret_id":   tok.SecretID,
		"accessor_id": tok.AccessorID,
		"name":        tok.Name,
		"type":        tok.Type,
		"global":      tok.Global,
		"policies":    nonNil(tok.Policies),
		"roles":       roleNames(tok.Roles),
		// Where the token is valid, so a consumer can set NOMAD_ADDR
		// (cmd/cloudcreds does). Not a secret.
		"address": p.s.address,
	}
	resp := &providers.CreateResponse{Data: data, Internal: internalJSON, Renewable: true,
		Objects: []providers.ObjectRef{{Kind: "token", Name: tok.Name, ID: tok.AccessorID}}}
	if tok.ExpirationTime != nil && !tok.ExpirationTime.IsZero() {
		data["expiration_time"] = tok.ExpirationTime.UTC().Format(time.RFC3339)
		resp.Expiry = tok.ExpirationTime.UTC()
		// Nomad counts expiration_ttl from its own create time, on its own
		// clock; counting it from the request's start on Vault's clock is
		// never later, so the lease ends no later than the token, whatever
		// the clock skew between the two.
		if r.expirationTTL > 0 {
			if own := req.Now.Add(r.expirationTTL).UTC(); own.Before(resp.Expiry) {
				resp.Expiry = own
			}
		}
	}
	return resp, nil
}

// createErr maps Nomad's validation answers on a create to the role field
// they are about; anything else is a cloud error.
func createErr(err error, r *roleSpec) error {
	code, body := apiStatus(err)
	if code == http.StatusBadRequest {
		msg := validationMessage(body)
		switch {
		case strings.Contains(body, "expiration time cannot be"), strings.Contains(body, "expiration TTL"):
			return providers.InvalidField(fieldExpirationTTL, "Nomad refused %s: %s (the bounds are the Nomad servers' acl.token_min_expiration_ttl and acl.token_max_expiration_ttl, by default 1m and 24h)", r.expirationTTL, msg)
		case strings.Contains(body, "cannot find role"):
			return providers.InvalidField(fieldRoles, "Nomad refused the token: %s (was the ACL role deleted or renamed?)", msg)
		case strings.Contains(body, "token name too long"):
			return providers.InvalidField(fieldMaxNameLength, "Nomad refused the token name as too long: %s", msg)
		}
	}
	return cloudErr("CreateToken", err)
}

// validationMessage extracts the items of Nomad's multierror body
// ("token 0 invalid: 1 error occurred:\n\t* item\n\n").
func validationMessage(body string) string {
	var items []string
	for _, line := range strings.Split(body, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "* ") {
			items = append(items, strings.TrimPrefix(line, "* "))
		}
	}
	if len(items) == 0 {
		return strings.TrimSpace(body)
	}
	return strings.Join(items, "; ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func roleNames(links []*api.ACLTokenRoleLink) []string {
	out := []string{}
	for _, l := range links {
		if l != nil {
			out = append(out, l.Name)
		}
	}
	return out
}

func parseInternal(raw json.RawMessage) (internal, error) {
	var in internal
	if err := json.Unmarshal(raw, &in); err != nil {
		return in, fmt.Errorf("nomad lease data: %w", err)
	}
	if in.AccessorID == "" {
		return in, errors.New("nomad lease data has no accessor_id")
	}
	return in, nil
}

// Renew implements providers.Provider. Renewal is Vault-side: no Nomad
// call. The token's Nomad expiration, recorded by the plugin at issue,
// caps every renewal.
func (p *provider) Renew(_ context.Context, req *providers.RenewRequest) (*providers.RenewResponse, error) {
	if req.CredentialType != CredentialToken {
		return nil, fmt.Errorf("renew: unknown credential type %q: %w", req.CredentialType, providers.ErrUnrecoverable)
	}
	if _, err := parseInternal(req.Internal); err != nil {
		return nil, fmt.Errorf("renew: %w: %w", err, providers.ErrUnrecoverable)
	}
	return &providers.RenewResponse{}, nil
}

// Revoke implements providers.Provider: DELETE /v1/acl/token/<accessor>
// in the region that owns the token (the authoritative region for a
// global token). Nomad's "Cannot delete nonexistent tokens" (400) means
// gone only from that region: another region may not have the token yet
// (ACL replication lags) while it lives on. Any other failure is returned
// so Vault retries.
func (p *provider) Revoke(ctx context.Context, req *providers.RevokeRequest) (*providers.RevokeResponse, error) {
	if req.CredentialType != CredentialToken {
		p.logger.Error("cannot revoke: unknown credential type", "credential_type", req.CredentialType)
		return nil, providers.ErrUnrecoverable
	}
	in, err := parseInternal(req.Internal)
	if err != nil {
		// No retry can make unreadable lease data readable.
		p.logger.Error("cannot revoke: unreadable lease data", "error", err)
		return nil, providers.ErrUnrecoverable
	}
	regions, err := p.owners(ctx, in.Region)
	if err != nil {
		return nil, fmt.Errorf("delete token %s (accessor %s): %w", in.TokenName, in.AccessorID, err)
	}
	gone := true
	for _, region := range regions {
		g, err := p.deleteToken(ctx, in.AccessorID, region)
		if err != nil {
			return nil, fmt.Errorf("delete token %s (accessor %s) in region %s: %w", in.TokenName, in.AccessorID, region, err)
		}
		if !g {
			gone = false
			break
		}
	}
	if in.SweepName {
		if err := p.deleteByName(ctx, in.TokenName, regions); err != nil {
			return nil, err
		}
	}
	if gone {
		p.logger.Debug("token was already gone", "accessor", in.AccessorID, "name", in.TokenName, "regions", regions)
		return &providers.RevokeResponse{Warnings: []string{fmt.Sprintf("Nomad token %s (accessor %s) was already gone", in.TokenName, in.AccessorID)}}, nil
	}
	p.logger.Debug("revoked token", "accessor", in.AccessorID, "name", in.TokenName)
	return &providers.RevokeResponse{}, nil
}

// owners are the regions to ask about a token recorded as living in
// region. Leases and intents of earlier versions did not record it: the
// token then lives in the instance's region or, if global, in the
// authoritative region, and only both answering "nonexistent" means gone.
func (p *provider) owners(ctx context.Context, region string) ([]string, error) {
	if region != "" {
		return []string{region}, nil
	}
	cl, err := p.cluster(ctx)
	if err != nil {
		return nil, err
	}
	out := []string{cl.region}
	if cl.authoritative != "" && cl.authoritative != cl.region {
		out = append(out, cl.authoritative)
	}
	return out, nil
}

// deleteToken deletes one token by accessor in region, retrying; gone
// reports that the region no longer had it.
func (p *provider) deleteToken(ctx context.Context, accessor, region string) (gone bool, err error) {
	err = p.s.retry.retry(ctx, func() error {
		_, err := p.client.ACLTokens().Delete(accessor, p.writeOpts(ctx, region))
		if err != nil && isNonexistent(err) {
			// After an attempt whose answer was lost, this is the answer
			// to the repeat: the first one deleted it.
			gone = true
			return nil
		}
		return err
	})
	if err != nil {
		return false, cloudErr("DeleteToken", err)
	}
	return gone, nil
}

// isNonexistent reports Nomad's answers for a token that does not exist:
// 400 "Cannot delete nonexistent tokens: <id>" on delete, 404 "ACL token
// not found" on read. A 404 with any other body (a proxy, a wrong address)
// is not taken for "gone": that would drop a lease whose token lives on.
// Clients older than api.UnexpectedResponseError returned plain errors;
// their text is matched as a fallback.
func isNonexistent(err error) bool {
	code, body := apiStatus(err)
	switch {
	case code == http.StatusNotFound:
		return strings.HasPrefix(body, "ACL token not found")
	case code == http.StatusBadRequest:
		return strings.HasPrefix(body, "Cannot delete nonexistent tokens")
	case code != 0:
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "Cannot delete nonexistent tokens") || strings.Contains(msg, "ACL token not found")
}

// Rollback implements providers.Provider: in the region the token would
// live in, it lists the tokens carrying the intent's name (GET
// /v1/acl/tokens?filter=Name == "<name>") and deletes each. None found is
// success.
func (p *provider) Rollback(ctx context.Context, req *providers.RollbackRequest) error {
	var it intent
	if err := json.Unmarshal(req.Intent, &it); err != nil || it.TokenName == "" {
		// Nothing can ever be found from it; drop the WAL entry.
		p.logger.Error("dropping an unreadable create intent", "intent", string(req.Intent))
		return nil
	}
	regions, err := p.owners(ctx, it.Region)
	if err != nil {
		return fmt.Errorf("find token %s: %w", it.TokenName, err)
	}
	return p.deleteByName(ctx, it.TokenName, regions)
}

// deleteByName deletes every token named name in each region.
func (p *provider) deleteByName(ctx context.Context, name string, regions []string) error {
	var errs []error
	for _, region := range regions {
		var stubs []*api.ACLTokenListStub
		err := p.s.retry.retry(ctx, func() error {
			var err error
			stubs, err = p.findByName(ctx, name, region)
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("find token %s in region %s: %w", name, region, cloudErr("ListTokens", err)))
			continue
		}
		for _, st := range stubs {
			if _, err := p.deleteToken(ctx, st.AccessorID, region); err != nil {
				errs = append(errs, fmt.Errorf("delete token %s (accessor %s) in region %s: %w", name, st.AccessorID, region, err))
				continue
			}
			p.logger.Info("deleted token by name", "name", name, "accessor", st.AccessorID, "region", region)
		}
	}
	return errors.Join(errs...)
}

// findByName lists the tokens named name in region (one call).
func (p *provider) findByName(ctx context.Context, name, region string) ([]*api.ACLTokenListStub, error) {
	q := p.queryOpts(ctx, region)
	q.Filter = nameFilter(name)
	stubs, _, err := p.client.ACLTokens().List(q)
	if err != nil {
		return nil, err
	}
	out := stubs[:0]
	for _, st := range stubs {
		if st != nil && st.Name == name {
			out = append(out, st)
		}
	}
	return out, nil
}

// Close implements providers.Provider.
func (p *provider) Close() error {
	p.client.Close()
	return nil
}
