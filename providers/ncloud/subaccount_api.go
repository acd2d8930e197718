package ncloud

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Sub Account API v2 (api.ncloud-docs.com/docs/pub-iam-v2-*). Paths are
// relative to the subaccount endpoint.
const (
	v2SubAccounts = "/api/v2/sub-accounts"
	v2Policies    = "/api/v2/policies"
	// maxPageSize is the documented maximum pageSize of v2 lists.
	maxPageSize = 100
	// maxPoliciesPerCall is the documented maximum of policyIds per
	// attach-policies call.
	maxPoliciesPerCall = 10
	// maxPages bounds a list walk (500 sub accounts at most per account).
	maxPages = 50
)

type subAccountJSON struct {
	SubAccountID string `json:"subAccountId"`
	LoginID      string `json:"loginId"`
	Name         string `json:"name"`
}

type policyJSON struct {
	PolicyID   string `json:"policyId"`
	PolicyName string `json:"policyName"`
	PolicyType string `json:"policyType"`
}

type accessKeyJSON struct {
	AccessKey string `json:"accessKey"`
	// KeySecret is only in the create answer; it goes to the user and
	// nowhere else.
	KeySecret string `json:"keySecret"`
}

type pageJSON struct {
	TotalPages int `json:"totalPages"`
}

// createSubAccount makes an API-only sub account (no console; a generated
// password that is discarded) and returns its id. Not retried: a second
// POST after a lost answer would conflict on the loginId, and rollback
// finds the sub account by loginId anyway.
func (p *provider) createSubAccount(ctx context.Context, loginID, name string) (string, error) {
	var out subAccountJSON
	err := p.sub.do(ctx, call{op: "CreateSubAccount", method: http.MethodPost, path: v2SubAccounts, out: &out, body: map[string]any{
		"loginId":                    loginID,
		"name":                       name,
		"passwordGenerationRequired": true,
		"apiGatewayAccessible":       true,
		"consoleAccessible":          false,
	}})
	if err != nil {
		return "", err
	}
	if out.SubAccountID == "" {
		return "", &apiError{op: "CreateSubAccount", status: http.StatusOK, message: "the answer carries no subAccountId"}
	}
	return out.SubAccountID, nil
}

// attachPolicies attaches policy ids in documented batches of 10. Attach
// is atomic per call and attaching an attached policy changes nothing, so
// it is retried.
func (p *provider) attachPolicies(ctx context.Context, subID string, ids []string) error {
	for start := 0; start < len(ids); start += maxPoliciesPerCall {
		end := min(start+maxPoliciesPerCall, len(ids))
		err := p.sub.do(ctx, call{op: "AttachPolicies", method: http.MethodPost, idempotent: true,
			path: v2SubAccounts + "/" + url.PathEscape(subID) + "/attach-policies",
			body: map[string]any{"policyIds": ids[start:end]}})
		if err != nil {
			return err
		}
	}
	return nil
}

// createAccessKey makes an access key of a sub account. Not retried: a
// lost answer would leave a key whose secret nobody has (the sub account's
// cascading delete removes it).
func (p *provider) createAccessKey(ctx context.Context, subID string) (accessKeyJSON, error) {
	var out accessKeyJSON
	err := p.sub.do(ctx, call{op: "CreateAccessKey", method: http.MethodPost,
		path: v2SubAccounts + "/" + url.PathEscape(subID) + "/access-keys", out: &out})
	if err == nil && (out.AccessKey == "" || out.KeySecret == "") {
		err = &apiError{op: "CreateAccessKey", status: http.StatusCreated, message: "the answer carries no accessKey/keySecret"}
	}
	return out, err
}

// listAccessKeys returns the access key ids of a sub account.
func (p *provider) listAccessKeys(ctx context.Context, subID string) ([]string, error) {
	var out struct {
		AccessKeys []accessKeyJSON `json:"accessKeys"`
	}
	err := p.sub.do(ctx, call{op: "ListAccessKeys", method: http.MethodGet, idempotent: true,
		path: v2SubAccounts + "/" + url.PathEscape(subID) + "/access-keys", out: &out})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out.AccessKeys))
	for _, k := range out.AccessKeys {
		ids = append(ids, k.AccessKey)
	}
	return ids, nil
}

// deleteAccessKey deletes one access key; not found is success.
func (p *provider) deleteAccessKey(ctx context.Context, c *client, subID, key string) error {
	err := c.do(ctx, call{op: "DeleteAccessKey", method: http.MethodDelete, idempotent: true,
		path: v2SubAccounts + "/" + url.PathEscape(subID) + "/access-keys/" + url.PathEscape(key)})
	if isNotFound(err) {
		return nil
	}
	return err
}

// deleteSubAccount deletes a sub account with its access keys
// (cascading=true, pub-iam-v2-sub-account-deletesubaccount); not found is
// success.
func (p *provider) deleteSubAccount(ctx context.Context, subID string) error {
	err := p.sub.do(ctx, call{op: "DeleteSubAccount", method: http.MethodDelete, idempotent: true,
		path: v2SubAccounts + "/" + url.PathEscape(subID) + "?cascading=true"})
	if isNotFound(err) {
		return nil
	}
	return err
}

// findSubAccount returns the id of the sub account whose loginId is
// loginID, "" if none. v2's list has no search parameter, so it walks the
// pages (sorted by loginId, 100 a page; at most 500 sub accounts exist).
func (p *provider) findSubAccount(ctx context.Context, loginID string) (string, error) {
	for pageNo := 0; pageNo < maxPages; pageNo++ {
		var out struct {
			pageJSON
			SubAccounts []subAccountJSON `json:"subAccounts"`
		}
		q := url.Values{"pageNo": {strconv.Itoa(pageNo)}, "pageSize": {strconv.Itoa(maxPageSize)}, "sort": {"loginId,asc"}}
		if err := p.sub.do(ctx, call{op: "ListSubAccounts", method: http.MethodGet, idempotent: true,
			path: v2SubAccounts + "?" + q.Encode(), out: &out}); err != nil {
			return "", err
		}
		for _, s := range out.SubAccounts {
			if s.LoginID == loginID {
				return s.SubAccountID, nil
			}
		}
		if pageNo+1 >= out.TotalPages || len(out.SubAccounts) == 0 {
			return "", nil
		}
	}
	return "", nil
}

// listPolicies returns every policy (all pages).
func (p *provider) listPolicies(ctx context.Context) ([]policyJSON, error) {
	var all []policyJSON
	for pageNo := 0; pageNo < maxPages; pageNo++ {
		var out struct {
			pageJSON
			Policies []policyJSON `json:"policies"`
		}
		q := url.Values{"pageNo": {strconv.Itoa(pageNo)}, "pageSize": {strconv.Itoa(maxPageSize)}}
		if err := p.sub.do(ctx, call{op: "ListPolicies", method: http.MethodGet, idempotent: true,
			path: v2Policies + "?" + q.Encode(), out: &out}); err != nil {
			return nil, err
		}
		all = append(all, out.Policies...)
		if pageNo+1 >= out.TotalPages || len(out.Policies) == 0 {
			break
		}
	}
	return all, nil
}
