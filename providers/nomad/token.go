package nomad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// provider is one configured Nomad instance. It is safe for concurrent
// use: it holds only immutable settings and the (concurrency-safe) client.
type provider struct {
	d        *Driver
	instance string
	s        *settings
	client   *api.Client
	logger   hclog.Logger
}

var _ providers.Provider = (*provider)(nil)

// intent is the WAL entry of one create: the token's unique name.
type intent struct {
	TokenName string `json:"token_name"`
}

// internal is a lease's internal data: the accessor to delete and the
// name (for operators). Never the secret.
type internal struct {
	AccessorID string `json:"accessor_id"`
	TokenName  string `json:"token_name"`
}

func (p *provider) writeOpts(ctx context.Context) *api.WriteOptions {
	return (&api.WriteOptions{}).WithContext(ctx)
}

func (p *provider) queryOpts(ctx context.Context) *api.QueryOptions {
	return (&api.QueryOptions{}).WithContext(ctx)
}

// Prepare implements providers.Provider: it checks the role and decides
// the token's name, which the plugin writes to the WAL before Create.
func (p *provider) Prepare(_ context.Context, req *providers.CreateRequest) (*providers.Intent, error) {
	if _, err := parseRole(req.RoleValues); err != nil {
		return nil, err
	}
	name, err := p.s.names.render(p.instance, req.Role, req.DisplayName, req.ID, req.Now.Unix())
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(intent{TokenName: name})
	if err != nil {
		return nil, err
	}
	return &providers.Intent{Data: data, Objects: []providers.ObjectRef{{Kind: "token", Name: name}}}, nil
}

// Target implements providers.Provider. The Nomad driver does not yet
// identify its cluster: its leases are not bound to a target (an empty ID).
func (p *provider) Target(context.Context) (providers.Target, error) {
	return providers.Target{}, nil
}

// Create implements providers.Provider: one PUT /v1/acl/token.
func (p *provider) Create(ctx context.Context, req *providers.CreateRequest) (*providers.CreateResponse, error) {
	r, err := parseRole(req.RoleValues)
	if err != nil {
		return nil, err
	}
	var it intent
	if err := json.Unmarshal(req.Intent, &it); err != nil || it.TokenName == "" {
		return nil, fmt.Errorf("nomad create: intent without a token name: %s", req.Intent)
	}
	in := &api.ACLToken{Name: it.TokenName, Type: r.typ, Global: r.global, ExpirationTTL: r.expirationTTL}
	if r.typ == typeClient {
		in.Policies = r.policies
		for _, name := range r.roles {
			in.Roles = append(in.Roles, &api.ACLTokenRoleLink{Name: name})
		}
	}
	tok, _, err := p.client.ACLTokens().Create(in, p.writeOpts(ctx))
	if err != nil {
		return nil, createErr(err, r)
	}
	if tok.AccessorID == "" || tok.SecretID == "" {
		return nil, &providers.CloudError{Op: "CreateToken", Code: "IncompleteResponse", Message: "Nomad's answer has no accessor or secret"}
	}
	p.logger.Info("created token", "name", it.TokenName, "accessor", tok.AccessorID, "type", r.typ, "global", r.global)

	internalJSON, err := json.Marshal(internal{AccessorID: tok.AccessorID, TokenName: tok.Name})
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
	if _, err := parseInternal(req.Internal); err != nil {
		return nil, err
	}
	return &providers.RenewResponse{}, nil
}

// Revoke implements providers.Provider: DELETE /v1/acl/token/<accessor>.
// Nomad's "Cannot delete nonexistent tokens" (400) and a 404 mean the
// token is already gone: success. Any other failure is returned so Vault
// retries.
func (p *provider) Revoke(ctx context.Context, req *providers.RevokeRequest) (*providers.RevokeResponse, error) {
	in, err := parseInternal(req.Internal)
	if err != nil {
		// No retry can make unreadable lease data readable.
		p.logger.Error("cannot revoke: unreadable lease data", "error", err)
		return nil, providers.ErrUnrecoverable
	}
	gone, err := p.deleteToken(ctx, in.AccessorID)
	if err != nil {
		return nil, fmt.Errorf("delete token %s (accessor %s): %w", in.TokenName, in.AccessorID, err)
	}
	if gone {
		p.logger.Info("token was already gone", "accessor", in.AccessorID, "name", in.TokenName)
		return &providers.RevokeResponse{Warnings: []string{fmt.Sprintf("Nomad token %s (accessor %s) was already gone", in.TokenName, in.AccessorID)}}, nil
	}
	p.logger.Info("revoked token", "accessor", in.AccessorID, "name", in.TokenName)
	return &providers.RevokeResponse{}, nil
}

// deleteToken deletes one token by accessor; gone reports that Nomad no
// longer had it.
func (p *provider) deleteToken(ctx context.Context, accessor string) (gone bool, err error) {
	_, err = p.client.ACLTokens().Delete(accessor, p.writeOpts(ctx))
	if err == nil {
		return false, nil
	}
	if isNonexistent(err) {
		return true, nil
	}
	return false, cloudErr("DeleteToken", err)
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

// Rollback implements providers.Provider: it lists the tokens carrying
// the intent's name (GET /v1/acl/tokens?filter=Name == "<name>") and
// deletes each. None found is success.
func (p *provider) Rollback(ctx context.Context, req *providers.RollbackRequest) error {
	var it intent
	if err := json.Unmarshal(req.Intent, &it); err != nil || it.TokenName == "" {
		// Nothing can ever be found from it; drop the WAL entry.
		p.logger.Error("dropping an unreadable create intent", "intent", string(req.Intent))
		return nil
	}
	q := p.queryOpts(ctx)
	q.Filter = nameFilter(it.TokenName)
	stubs, _, err := p.client.ACLTokens().List(q)
	if err != nil {
		return fmt.Errorf("find token %s: %w", it.TokenName, cloudErr("ListTokens", err))
	}
	var errs []error
	for _, st := range stubs {
		if st == nil || st.Name != it.TokenName {
			continue
		}
		if _, err := p.deleteToken(ctx, st.AccessorID); err != nil {
			errs = append(errs, fmt.Errorf("delete token %s (accessor %s): %w", it.TokenName, st.AccessorID, err))
			continue
		}
		p.logger.Info("rolled back token", "name", it.TokenName, "accessor", st.AccessorID)
	}
	return errors.Join(errs...)
}

// Close implements providers.Provider.
func (p *provider) Close() error {
	p.client.Close()
	return nil
}
