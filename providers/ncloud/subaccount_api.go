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
	// v1SubAccounts is v1's list, the only one with a documented search
	// (management-subaccount-getsubaccounts: searchColumn=loginId,
	// searchWord); v2's list (pub-iam-v2-sub-account-listsubaccounts) has
	// only pageNo, pageSize and sort.
	v1SubAccounts = "/api/v1/sub-accounts"
	// maxPageSize is the documented maximum pageSize of v2 lists.
	maxPageSize = 100
	// maxPages bounds a list walk (500 sub accounts at most per account).
	maxPages = 50
)

type subAccountJSON struct {
	SubAccountID    string       `json:"subAccountId"`
	NRN             string       `json:"nrn"`
	LoginID         string       `json:"loginId"`
	Name            string       `json:"name"`
	CreatedDateTime string       `json:"createdDateTime"`
	Memo            string       `json:"memo"`     // getSubAccount only
	Policies        []policyJSON `json:"policies"` // getSubAccount only
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
	// Active is in list answers: only active keys work and count towards
	// the two a sub account may have (pub-iam-v2-sub-account-
	// changeaccesskeystatus). Absent means active.
	Active *bool `json:"active"`
}

// active reports whether the key is active.
func (k accessKeyJSON) active() bool { return k.Active == nil || *k.Active }

type pageJSON struct {
	TotalPages int `json:"totalPages"`
}

// maxPoliciesPerCall is the documented maximum of policyIds per attach
// call (pub-iam-v2-sub-account-attachsubaccountpolicies).
const maxPoliciesPerCall = 10

// createSubAccount sends one create of an API-only sub account (no
// console; a generated password that is discarded) with its memo (the
// mark, mark.go; none when empty) and returns its id. It is sent once:
// ensureSubAccount decides about another attempt.
func (p *provider) createSubAccount(ctx context.Context, loginID, name, memo string) (string, error) {
	var out subAccountJSON
	body := map[string]any{
		"loginId":                    loginID,
		"name":                       name,
		"passwordGenerationRequired": true,
		"apiGatewayAccessible":       true,
		"consoleAccessible":          false,
	}
	if memo != "" {
		body["memo"] = memo
	}
	err := p.sub.do(ctx, call{op: "CreateSubAccount", method: http.MethodPost, path: v2SubAccounts, out: &out, body: body})
	if err != nil {
		return "", err
	}
	if out.SubAccountID == "" {
		return "", &apiError{op: "CreateSubAccount", status: http.StatusOK, message: "the answer carries no subAccountId"}
	}
	return out.SubAccountID, nil
}

// attachPoliciesOnce sends one attach of up to 10 policy ids (atomic,
// pub-iam-v2-sub-account-attachsubaccountpolicies).
func (p *provider) attachPoliciesOnce(ctx context.Context, subID string, ids []string) error {
	return p.sub.do(ctx, call{op: "AttachPolicies", method: http.MethodPost,
		path: v2SubAccounts + "/" + url.PathEscape(subID) + "/attach-policies",
		body: map[string]any{"policyIds": ids}})
}

// createAccessKey sends one create of an access key of a sub account.
func (p *provider) createAccessKey(ctx context.Context, subID string) (accessKeyJSON, error) {
	var out accessKeyJSON
	err := p.sub.do(ctx, call{op: "CreateAccessKey", method: http.MethodPost,
		path: v2SubAccounts + "/" + url.PathEscape(subID) + "/access-keys", out: &out})
	if err == nil && (out.AccessKey == "" || out.KeySecret == "") {
		err = &apiError{op: "CreateAccessKey", status: http.StatusCreated, message: "the answer carries no accessKey/keySecret"}
	}
	return out, err
}

// listAccessKeys returns the access keys (ids and status) of a sub account.
func (p *provider) listAccessKeys(ctx context.Context, subID string) ([]accessKeyJSON, error) {
	var out struct {
		AccessKeys []accessKeyJSON `json:"accessKeys"`
	}
	err := p.sub.do(ctx, call{op: "ListAccessKeys", method: http.MethodGet, idempotent: true,
		path: v2SubAccounts + "/" + url.PathEscape(subID) + "/access-keys", out: &out})
	if err != nil {
		return nil, err
	}
	return out.AccessKeys, nil
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
// loginID, "" if none, with v1's documented search
// (searchColumn=loginId&searchWord=...; the docs do not say whether the
// keyword matches exactly or in part, so only an exact loginId counts).
// The answer holds the few loginIds containing loginID, not pages of the
// whole account that concurrent deletes would shift.
func (p *provider) findSubAccount(ctx context.Context, loginID string) (string, error) {
	for page := 0; page < maxPages; page++ {
		var out struct {
			TotalPages int              `json:"totalPages"`
			Items      []subAccountJSON `json:"items"`
		}
		q := url.Values{"searchColumn": {"loginId"}, "searchWord": {loginID}, "page": {strconv.Itoa(page)}, "size": {strconv.Itoa(maxPageSize)}}
		if err := p.sub.do(ctx, call{op: "ListSubAccounts", method: http.MethodGet, idempotent: true,
			path: v1SubAccounts + "?" + q.Encode(), out: &out}); err != nil {
			return "", err
		}
		for _, s := range out.Items {
			if s.LoginID == loginID {
				if s.SubAccountID == "" {
					return "", &apiError{op: "ListSubAccounts", status: http.StatusOK, message: "a listed sub account has no subAccountId"}
				}
				return s.SubAccountID, nil
			}
		}
		if page+1 >= out.TotalPages || len(out.Items) == 0 {
			return "", nil
		}
	}
	return "", nil
}

// listSubAccounts returns the first page (of size n) of the account's
// sub accounts (pub-iam-v2-sub-account-listsubaccounts).
func (p *provider) listSubAccounts(ctx context.Context, n int) ([]subAccountJSON, error) {
	var out struct {
		SubAccounts []subAccountJSON `json:"subAccounts"`
	}
	q := url.Values{"pageNo": {"0"}, "pageSize": {strconv.Itoa(n)}, "sort": {"createdDateTime,asc"}}
	err := p.sub.do(ctx, call{op: "ListSubAccounts", method: http.MethodGet, idempotent: true,
		path: v2SubAccounts + "?" + q.Encode(), out: &out})
	return out.SubAccounts, err
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
