package ncloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/naming"
)

// subIntent is the WAL intent of a sub_account create: the loginId alone
// (the sub account id is only known once it exists).
type subIntent struct {
	LoginID string `json:"login_id"`
}

// subInternal is a sub_account lease's internal data (no secret).
type subInternal struct {
	SubAccountID string `json:"sub_account_id"`
	LoginID      string `json:"login_id"`
	AccessKey    string `json:"access_key"`
}

// resolvePolicies maps policy names (or ids) to policy ids by listing the
// account's policies; an unknown one is a *FieldError.
func (p *provider) resolvePolicies(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, providers.InvalidField(fieldPolicies, "at least one policy is required")
	}
	all, err := p.listPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("resolve policies: %w", err)
	}
	byName := make(map[string]string, len(all))
	byID := make(map[string]bool, len(all))
	for _, pol := range all {
		byName[pol.PolicyName] = pol.PolicyID
		byID[pol.PolicyID] = true
	}
	seen := map[string]bool{}
	var ids, unknown []string
	for _, n := range names {
		id, ok := byName[n]
		if !ok && byID[n] {
			id, ok = n, true
		}
		switch {
		case !ok:
			unknown = append(unknown, n)
		case !seen[id]:
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(unknown) > 0 {
		return nil, providers.InvalidField(fieldPolicies, "no such Ncloud policy: %s (give policy names or policy ids)", strings.Join(unknown, ", "))
	}
	return ids, nil
}

// prepareSubAccount decides the loginId: the mark prefix of the request's
// mount (mark.go), then the role's template.
func (p *provider) prepareSubAccount(req *providers.CreateRequest) (*providers.Intent, error) {
	prefix, err := markPrefixFor(req.Mark)
	if err != nil {
		return nil, fmt.Errorf("sub_account create: %w", err)
	}
	t, err := p.templates.get(req.RoleValues.String(fieldLoginTemplate))
	if err != nil {
		return nil, err
	}
	name, err := t.Render(naming.Data{RoleName: req.Role, DisplayName: req.DisplayName, Instance: req.Instance, ID: req.ID, UnixTime: req.Now.Unix()})
	if err != nil {
		return nil, err
	}
	id := prefix + name
	data, err := json.Marshal(subIntent{LoginID: id})
	if err != nil {
		return nil, err
	}
	return &providers.Intent{Data: data, Objects: []providers.ObjectRef{{Kind: "sub_account", Name: id}}}, nil
}

// createSubAccountCred creates the sub account, attaches the policies and
// creates the access key, each step resumed after a failed attempt from
// what Ncloud shows it did (resume.go). On failure it deletes what it
// made; a sub account whose create answer never came is left to the
// rollback, which finds it by its loginId.
func (p *provider) createSubAccountCred(ctx context.Context, req *providers.CreateRequest) (*providers.CreateResponse, error) {
	var intent subIntent
	if err := json.Unmarshal(req.Intent, &intent); err != nil || intent.LoginID == "" {
		return nil, fmt.Errorf("sub_account create without a valid intent: %v", err)
	}
	policyIDs, err := p.resolvePolicies(ctx, req.RoleValues.Strings(fieldPolicies))
	if err != nil {
		return nil, err
	}
	subID, err := p.ensureSubAccount(ctx, intent.LoginID, "vault-"+req.ID, memoOf(req.Mark, req.ID, req.Role))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*providers.CreateResponse, error) {
		// Undo with a context of its own: the request's may be what failed.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*p.cfg.requestTimeout)
		defer cancel()
		if derr := p.deleteSubAccount(cctx, subID); derr != nil {
			p.logger.Warn("deleting the sub account of a failed create failed; rollback will retry", "login_id", intent.LoginID, "sub_account_id", subID, "error", derr)
			return nil, errors.Join(err, fmt.Errorf("cleanup: %w", derr))
		}
		return nil, err
	}
	if err := p.attachPolicies(ctx, subID, policyIDs); err != nil {
		return fail(err)
	}
	key, err := p.issueAccessKey(ctx, subID)
	if err != nil {
		return fail(err)
	}
	internal, err := json.Marshal(subInternal{SubAccountID: subID, LoginID: intent.LoginID, AccessKey: key.AccessKey})
	if err != nil {
		return fail(err)
	}
	p.logger.Debug("created sub account", "role", req.Role, "login_id", intent.LoginID, "sub_account_id", subID, "access_key", key.AccessKey, "policies", len(policyIDs))
	return &providers.CreateResponse{
		Data: map[string]any{
			"access_key":     key.AccessKey,
			"secret_key":     key.KeySecret,
			"sub_account_id": subID,
			"login_id":       intent.LoginID,
		},
		Internal:  internal,
		Renewable: true,
		Objects: []providers.ObjectRef{
			{Kind: "sub_account", Name: intent.LoginID, ID: subID},
			{Kind: "access_key", Name: key.AccessKey},
		},
	}, nil
}

// decodeSubInternal reads a sub_account lease's internal data; what names
// no sub account is unrecoverable.
func decodeSubInternal(raw json.RawMessage) (subInternal, error) {
	var in subInternal
	if err := decodeInternal(raw, &in); err != nil {
		return in, err
	}
	if !isUUID(in.SubAccountID) {
		return in, fmt.Errorf("lease internal data has no valid sub_account_id: %w", providers.ErrUnrecoverable)
	}
	return in, nil
}

// revokeSubAccount deletes the sub account with its keys in one cascading
// call; a sub account already gone is success.
func (p *provider) revokeSubAccount(ctx context.Context, req *providers.RevokeRequest) (*providers.RevokeResponse, error) {
	in, err := decodeSubInternal(req.Internal)
	if err != nil {
		return nil, err
	}
	if err := p.deleteSubAccount(ctx, in.SubAccountID); err != nil {
		return nil, fmt.Errorf("delete sub account %s (%s): %w", in.LoginID, in.SubAccountID, err)
	}
	p.logger.Debug("deleted sub account", "login_id", in.LoginID, "sub_account_id", in.SubAccountID, "access_key", in.AccessKey)
	return &providers.RevokeResponse{}, nil
}

// rollbackSubAccount finds the sub account by an exact loginId search and
// deletes it with its keys.
func (p *provider) rollbackSubAccount(ctx context.Context, raw json.RawMessage) error {
	var intent subIntent
	if err := json.Unmarshal(raw, &intent); err != nil || intent.LoginID == "" {
		// Nothing this driver can act on; keeping the WAL entry would
		// only fail forever.
		p.logger.Error("dropping an unreadable rollback intent", "error", err)
		return nil
	}
	subID, err := p.findSubAccount(ctx, intent.LoginID)
	if err != nil {
		return fmt.Errorf("rollback: find sub account %s: %w", intent.LoginID, err)
	}
	if subID == "" {
		return nil
	}
	if err := p.deleteSubAccount(ctx, subID); err != nil {
		return fmt.Errorf("rollback: delete sub account %s (%s): %w", intent.LoginID, subID, err)
	}
	p.logger.Info("rolled back sub account", "login_id", intent.LoginID, "sub_account_id", subID)
	return nil
}
