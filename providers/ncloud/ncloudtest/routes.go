package ncloudtest

import (
	"net/http"
	"strings"
)

type apiKind int

const (
	apiSTS apiKind = iota
	apiV1
	apiV2
)

// request is one authenticated API call.
type request struct {
	r      *http.Request
	params []string // path wildcards, in order
	body   []byte
	caller caller
	st     *state // the caller's account
}

type route struct {
	method  string
	pattern []string // "*" matches one segment
	action  string   // call-count name; the same for both Sub Account API versions
	api     apiKind
	handle  func(*Server, http.ResponseWriter, *request)
}

// routes: STS (management-sts-creatests, get-caller-identity), Sub Account v1
// (management-subaccount-*) and v2 (pub-iam-v2-sub-account-*).
var routes = []route{
	{http.MethodPost, split("/api/v1/credentials"), "CreateCredentials", apiSTS, (*Server).stsCreateCredentials},
	{http.MethodGet, split("/api/v1/caller-identity"), "GetCallerIdentity", apiSTS, (*Server).stsCallerIdentity},

	{http.MethodPost, split("/api/v1/sub-accounts"), "CreateSubAccount", apiV1, (*Server).v1CreateSubAccount},
	{http.MethodGet, split("/api/v1/sub-accounts"), "ListSubAccounts", apiV1, (*Server).v1ListSubAccounts},
	{http.MethodGet, split("/api/v1/sub-accounts/*"), "GetSubAccount", apiV1, (*Server).v1GetSubAccount},
	{http.MethodDelete, split("/api/v1/sub-accounts/*"), "DeleteSubAccount", apiV1, (*Server).v1DeleteSubAccount},
	{http.MethodPost, split("/api/v1/sub-accounts/*/policies"), "AddSubAccountPolicies", apiV1, (*Server).v1AddPolicies},
	{http.MethodDelete, split("/api/v1/sub-accounts/*/policies"), "RemoveSubAccountPolicies", apiV1, (*Server).v1RemovePolicies},
	{http.MethodPost, split("/api/v1/sub-accounts/*/access-keys"), "CreateAccessKey", apiV1, (*Server).v1CreateAccessKey},
	{http.MethodGet, split("/api/v1/sub-accounts/*/access-keys"), "ListAccessKeys", apiV1, (*Server).v1ListAccessKeys},
	{http.MethodDelete, split("/api/v1/sub-accounts/*/access-keys"), "DeleteAccessKey", apiV1, (*Server).v1DeleteAccessKey},
	{http.MethodPut, split("/api/v1/sub-accounts/*/access-keys"), "ChangeAccessKeyStatus", apiV1, (*Server).v1SetAccessKeyStatus},
	{http.MethodGet, split("/api/v1/policies"), "ListPolicies", apiV1, (*Server).v1ListPolicies},

	{http.MethodPost, split("/api/v2/sub-accounts"), "CreateSubAccount", apiV2, (*Server).v2CreateSubAccount},
	{http.MethodGet, split("/api/v2/sub-accounts"), "ListSubAccounts", apiV2, (*Server).v2ListSubAccounts},
	{http.MethodGet, split("/api/v2/sub-accounts/*"), "GetSubAccount", apiV2, (*Server).v2GetSubAccount},
	{http.MethodDelete, split("/api/v2/sub-accounts/*"), "DeleteSubAccount", apiV2, (*Server).v2DeleteSubAccount},
	{http.MethodPost, split("/api/v2/sub-accounts/*/attach-policies"), "AddSubAccountPolicies", apiV2, (*Server).v2AttachPolicies},
	{http.MethodPost, split("/api/v2/sub-accounts/*/detach-policies"), "RemoveSubAccountPolicies", apiV2, (*Server).v2DetachPolicies},
	{http.MethodPost, split("/api/v2/sub-accounts/*/access-keys"), "CreateAccessKey", apiV2, (*Server).v2CreateAccessKey},
	{http.MethodGet, split("/api/v2/sub-accounts/*/access-keys"), "ListAccessKeys", apiV2, (*Server).v2ListAccessKeys},
	{http.MethodDelete, split("/api/v2/sub-accounts/*/access-keys/*"), "DeleteAccessKey", apiV2, (*Server).v2DeleteAccessKey},
	{http.MethodPost, split("/api/v2/sub-accounts/*/access-keys/*/change-status"), "ChangeAccessKeyStatus", apiV2, (*Server).v2ChangeAccessKeyStatus},
	{http.MethodGet, split("/api/v2/policies"), "ListPolicies", apiV2, (*Server).v2ListPolicies},
}

func split(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

// matchRoute finds the route of method and path and its wildcard values.
func matchRoute(method, path string) (*route, []string) {
	segs := split(path)
	for i := range routes {
		rt := &routes[i]
		if rt.method != method || len(rt.pattern) != len(segs) {
			continue
		}
		var params []string
		ok := true
		for j, p := range rt.pattern {
			switch {
			case p == "*" && segs[j] != "":
				params = append(params, segs[j])
			case p != segs[j]:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok {
			return rt, params
		}
	}
	return nil, nil
}
