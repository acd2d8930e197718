package ncloudtest

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Sub Account API v2, the "Ncloud API standard" version
// (api.ncloud-docs.com/docs/pub-iam-v2-sub-account-*). Mutations without a
// documented body answer 204; errors are v2Error (see writeV2Error).

type v2CreateRequest struct {
	LoginID                    string `json:"loginId"`
	Name                       string `json:"name"`
	Email                      string `json:"email"`
	Memo                       string `json:"memo"`
	Password                   string `json:"password"`
	PasswordResetRequired      bool   `json:"passwordResetRequired"`
	PasswordGenerationRequired bool   `json:"passwordGenerationRequired"`
	APIGatewayAccessible       *bool  `json:"apiGatewayAccessible"`
	ConsoleAccessible          *bool  `json:"consoleAccessible"`
}

type v2PolicyJSON struct {
	PolicyID        string `json:"policyId"`
	PolicyName      string `json:"policyName"`
	PolicyType      string `json:"policyType"`
	CreatedDateTime string `json:"createdDateTime,omitempty"`
}

type v2SubAccountJSON struct {
	SubAccountID         string         `json:"subAccountId"`
	SubAccountNo         int            `json:"subAccountNo"`
	NRN                  string         `json:"nrn"`
	LoginID              string         `json:"loginId"`
	Name                 string         `json:"name"`
	Email                string         `json:"email,omitempty"`
	Memo                 string         `json:"memo,omitempty"`
	ConsoleAccessible    bool           `json:"consoleAccessible"`
	APIGatewayAccessible bool           `json:"apiGatewayAccessible"`
	Active               bool           `json:"active"`
	CreatedDateTime      string         `json:"createdDateTime"`
	Password             string         `json:"password,omitempty"`
	Policies             []v2PolicyJSON `json:"policies,omitempty"`
}

// v2ListItemJSON is one item of the v2 list, which holds only the fields
// needed to find a sub account; email, memo, access sources, groups and
// policies are read with GET /sub-accounts/{subAccountId}
// (gov-iam-v2-sub-account-listsubaccounts: "목록 항목은 탐색에 필요한
// 필드(subAccountId·nrn·loginId·name·consoleAccessible·
// apiGatewayAccessible·active·createdDateTime·lastLoginDateTime)만
// 담으며, 이메일·메모 ... 상세 정보는 GET /sub-accounts/{subAccountId}로").
// lastLoginDateTime is left out: emulated sub accounts never log in.
type v2ListItemJSON struct {
	SubAccountID         string `json:"subAccountId"`
	NRN                  string `json:"nrn"`
	LoginID              string `json:"loginId"`
	Name                 string `json:"name"`
	ConsoleAccessible    bool   `json:"consoleAccessible"`
	APIGatewayAccessible bool   `json:"apiGatewayAccessible"`
	Active               bool   `json:"active"`
	CreatedDateTime      string `json:"createdDateTime"`
}

func v2ListItem(sa *subAccount) v2ListItemJSON {
	return v2ListItemJSON{SubAccountID: sa.id, NRN: sa.nrn, LoginID: sa.loginID, Name: sa.name, ConsoleAccessible: sa.console,
		APIGatewayAccessible: sa.apiGatewayAccess, Active: true, CreatedDateTime: fmtTime(sa.created)}
}

func v2SubJSON(sa *subAccount) v2SubAccountJSON {
	return v2SubAccountJSON{SubAccountID: sa.id, SubAccountNo: sa.no, NRN: sa.nrn, LoginID: sa.loginID, Name: sa.name,
		Email: sa.email, Memo: sa.memo, ConsoleAccessible: sa.console, APIGatewayAccessible: sa.apiGatewayAccess,
		Active: true, CreatedDateTime: fmtTime(sa.created)}
}

// v2SubID validates the subAccountId path parameter (documented 400
// BadRequest on a malformed id).
func v2SubID(w http.ResponseWriter, req *request) (string, bool) {
	id := req.params[0]
	if !isUUID(id) {
		writeV2Error(w, validation("subAccountId", "subAccountId must be a UUID"))
		return "", false
	}
	return id, true
}

// POST /api/v2/sub-accounts → 201 with the created sub account.
func (s *Server) v2CreateSubAccount(w http.ResponseWriter, req *request) {
	var in v2CreateRequest
	if err := decodeBody(req.body, &in); err != nil {
		writeV2Error(w, err)
		return
	}
	if in.APIGatewayAccessible == nil {
		writeV2Error(w, validation("apiGatewayAccessible", "apiGatewayAccessible is required"))
		return
	}
	if in.ConsoleAccessible == nil {
		writeV2Error(w, validation("consoleAccessible", "consoleAccessible is required"))
		return
	}
	s.mu.Lock()
	sa, err := req.st.createSubAccount(newSubAccountInput{loginID: in.LoginID, name: in.Name, email: in.Email, memo: in.Memo,
		password: in.Password, generatePassword: in.PasswordGenerationRequired, needPasswordReset: in.PasswordResetRequired,
		apiGatewayAccess: *in.APIGatewayAccessible, console: *in.ConsoleAccessible}, s.clock())
	var out v2SubAccountJSON
	if err == nil {
		out = v2SubJSON(sa)
	}
	s.mu.Unlock()
	if err != nil {
		writeV2Error(w, err)
		return
	}
	if in.PasswordGenerationRequired {
		out.Password = randString(12) + "!1a"
	}
	writeJSON(w, http.StatusCreated, out)
}

// GET /api/v2/sub-accounts?pageNo=&pageSize=&sort=property,(asc|desc) →
// {"subAccounts":[...],"totalElements","totalPages","pageNo","pageSize"}.
func (s *Server) v2ListSubAccounts(w http.ResponseWriter, req *request) {
	q := req.r.URL.Query()
	pageNo, err := intParam(q, "pageNo", 0, 0, 0)
	var size int
	if err == nil {
		size, err = intParam(q, "pageSize", 20, 1, 100)
	}
	var less func(a, b *subAccount) bool
	if err == nil {
		less, err = v2Sort(q["sort"])
	}
	if err != nil {
		writeV2Error(w, err)
		return
	}
	s.mu.Lock()
	subs := req.st.sortedSubs()
	sort.SliceStable(subs, func(i, j int) bool { return less(subs[i], subs[j]) })
	items := make([]v2ListItemJSON, 0, len(subs))
	for _, sa := range subs {
		items = append(items, v2ListItem(sa))
	}
	s.mu.Unlock()
	start, end, total := page(len(items), pageNo, size)
	writeJSON(w, http.StatusOK, map[string]any{"subAccounts": items[start:end], "totalElements": len(items),
		"totalPages": total, "pageNo": pageNo, "pageSize": size})
}

// v2Sort parses the sort parameters (loginId|name|createdDateTime, asc|desc;
// default createdDateTime,desc).
func v2Sort(specs []string) (func(a, b *subAccount) bool, *opError) {
	if len(specs) == 0 {
		specs = []string{"createdDateTime,desc"}
	}
	type key struct {
		prop string
		desc bool
	}
	var keys []key
	for _, spec := range specs {
		prop, dir, _ := strings.Cut(spec, ",")
		if (prop != "loginId" && prop != "name" && prop != "createdDateTime") || (dir != "" && dir != "asc" && dir != "desc") {
			return nil, validation("sort", "sort must be loginId|name|createdDateTime[,asc|desc]")
		}
		keys = append(keys, key{prop, dir == "desc"})
	}
	return func(a, b *subAccount) bool {
		for _, k := range keys {
			var c int
			switch k.prop {
			case "loginId":
				c = strings.Compare(a.loginID, b.loginID)
			case "name":
				c = strings.Compare(a.name, b.name)
			default:
				c = a.no - b.no // creation order
			}
			if c != 0 {
				return (c < 0) != k.desc
			}
		}
		return false
	}, nil
}

// GET /api/v2/sub-accounts/{subAccountId} → the sub account with its policies.
func (s *Server) v2GetSubAccount(w http.ResponseWriter, req *request) {
	id, ok := v2SubID(w, req)
	if !ok {
		return
	}
	s.mu.Lock()
	sa, err := req.st.sub(id)
	var out v2SubAccountJSON
	if err == nil {
		out = v2SubJSON(sa)
		out.Policies = []v2PolicyJSON{}
		for _, pid := range sa.policies {
			if p, ok := req.st.policies[pid]; ok {
				out.Policies = append(out.Policies, v2PolicyJSON{PolicyID: p.id, PolicyName: p.name, PolicyType: p.typ})
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		writeV2Error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// DELETE /api/v2/sub-accounts/{subAccountId}[?cascading=true] → 204;
// 409 ResourceInUse while access keys remain and cascading is not true.
func (s *Server) v2DeleteSubAccount(w http.ResponseWriter, req *request) {
	id, ok := v2SubID(w, req)
	if !ok {
		return
	}
	cascading := false
	if v := req.r.URL.Query().Get("cascading"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeV2Error(w, validation("cascading", "cascading must be true or false"))
			return
		}
		cascading = b
	}
	s.mu.Lock()
	err := req.st.deleteSubAccount(id, cascading)
	s.mu.Unlock()
	if err != nil {
		writeV2Error(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// POST /api/v2/sub-accounts/{id}/attach-policies {"policyIds":[...]} → 204.
// Atomic: if any policy cannot be attached, none is, and the answer is a
// Batch Failure Response naming each item that failed: an unknown policy
// (404 PolicyNotFound) or one already attached (409 Conflict)
// (pub-iam-v2-sub-account-attachsubaccountpolicies, type-batch-response).
func (s *Server) v2AttachPolicies(w http.ResponseWriter, req *request) {
	s.v2PolicyOp(w, req, (*state).attach)
}

// POST /api/v2/sub-accounts/{id}/detach-policies {"policyIds":[...]} → 204.
// Atomic: if any policy cannot be detached, none is (a Batch Failure
// Response names each, e.g. 404 PolicyNotFound for one not attached).
func (s *Server) v2DetachPolicies(w http.ResponseWriter, req *request) {
	s.v2PolicyOp(w, req, (*state).detach)
}

func (s *Server) v2PolicyOp(w http.ResponseWriter, req *request, op func(*state, *subAccount, string) *opError) {
	id, ok := v2SubID(w, req)
	if !ok {
		return
	}
	var in struct {
		PolicyIDs []string `json:"policyIds"`
	}
	if err := decodeBody(req.body, &in); err != nil {
		writeV2Error(w, err)
		return
	}
	if n := len(in.PolicyIDs); n < 1 || n > maxPoliciesPerRequest {
		writeV2Error(w, validation("policyIds", "policyIds must hold 1-10 policy ids"))
		return
	}
	seen := map[string]bool{}
	for i, pid := range in.PolicyIDs {
		if seen[pid] {
			writeV2Error(w, validation("policyIds["+strconv.Itoa(i)+"]", "duplicate policy id"))
			return
		}
		seen[pid] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sa, err := req.st.sub(id)
	if err != nil {
		writeV2Error(w, err)
		return
	}
	saved := append([]string(nil), sa.policies...)
	failed := map[int]*opError{}
	for i, pid := range in.PolicyIDs {
		if err := op(req.st, sa, pid); err != nil {
			failed[i] = err
		}
	}
	if len(failed) > 0 {
		// Atomic: nothing changes; every item that failed is reported.
		sa.policies = saved
		writeV2Failures(w, failed)
		return
	}
	sa.modified = s.clock()
	w.WriteHeader(http.StatusNoContent)
}

type v2AccessKeyJSON struct {
	AccessKey       string `json:"accessKey"`
	KeySecret       string `json:"keySecret,omitempty"`
	Active          *bool  `json:"active,omitempty"`
	CreatedDateTime string `json:"createdDateTime"`
}

// POST /api/v2/sub-accounts/{id}/access-keys → 201 {"accessKey","keySecret","createdDateTime"};
// 400 LimitExceeded past two keys.
func (s *Server) v2CreateAccessKey(w http.ResponseWriter, req *request) {
	id, ok := v2SubID(w, req)
	if !ok {
		return
	}
	s.mu.Lock()
	k, err := req.st.createAccessKey(id, s.clock())
	var out v2AccessKeyJSON
	if err == nil {
		out = v2AccessKeyJSON{AccessKey: k.id, KeySecret: k.secret, CreatedDateTime: fmtTime(k.created)}
	}
	s.mu.Unlock()
	if err != nil {
		writeV2Error(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// GET /api/v2/sub-accounts/{id}/access-keys → {"accessKeys":[{"accessKey","active","createdDateTime"}]}.
func (s *Server) v2ListAccessKeys(w http.ResponseWriter, req *request) {
	id, ok := v2SubID(w, req)
	if !ok {
		return
	}
	s.mu.Lock()
	sa, err := req.st.sub(id)
	keys := []v2AccessKeyJSON{}
	if err == nil {
		for _, kid := range sa.keys {
			k := req.st.keys[kid]
			active := k.active
			keys = append(keys, v2AccessKeyJSON{AccessKey: kid, Active: &active, CreatedDateTime: fmtTime(k.created)})
		}
	}
	s.mu.Unlock()
	if err != nil {
		writeV2Error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"accessKeys": keys})
}

// POST /api/v2/sub-accounts/{id}/access-keys/{accessKey}/change-status
// {"active": bool} → 204; 400 LimitExceeded when activating a third active
// key (pub-iam-v2-sub-account-changeaccesskeystatus).
func (s *Server) v2ChangeAccessKeyStatus(w http.ResponseWriter, req *request) {
	id, ok := v2SubID(w, req)
	if !ok {
		return
	}
	var in struct {
		Active *bool `json:"active"`
	}
	if err := decodeBody(req.body, &in); err != nil {
		writeV2Error(w, err)
		return
	}
	if in.Active == nil {
		writeV2Error(w, validation("active", "active is required"))
		return
	}
	s.mu.Lock()
	err := req.st.setKeyActive(id, req.params[1], *in.Active)
	s.mu.Unlock()
	if err != nil {
		writeV2Error(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DELETE /api/v2/sub-accounts/{id}/access-keys/{accessKey} → 204.
func (s *Server) v2DeleteAccessKey(w http.ResponseWriter, req *request) {
	id, ok := v2SubID(w, req)
	if !ok {
		return
	}
	s.mu.Lock()
	err := req.st.deleteAccessKey(id, req.params[1])
	s.mu.Unlock()
	if err != nil {
		writeV2Error(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GET /api/v2/policies?pageNo=&pageSize=&policyType= →
// {"policies":[...],"totalElements","totalPages","pageNo","pageSize"}.
func (s *Server) v2ListPolicies(w http.ResponseWriter, req *request) {
	q := req.r.URL.Query()
	pageNo, err := intParam(q, "pageNo", 0, 0, 0)
	var size int
	if err == nil {
		size, err = intParam(q, "pageSize", 20, 1, 100)
	}
	typ := q.Get("policyType")
	if err == nil && typ != "" && typ != policySystemManaged && typ != policyUserCreated {
		err = validation("policyType", "policyType must be SYSTEM_MANAGED or USER_CREATED")
	}
	if err != nil {
		writeV2Error(w, err)
		return
	}
	s.mu.Lock()
	items := []v2PolicyJSON{}
	for _, p := range req.st.sortedPolicies() {
		if typ == "" || p.typ == typ {
			items = append(items, v2PolicyJSON{PolicyID: p.id, PolicyName: p.name, PolicyType: p.typ, CreatedDateTime: fmtTime(p.created)})
		}
	}
	s.mu.Unlock()
	start, end, total := page(len(items), pageNo, size)
	writeJSON(w, http.StatusOK, map[string]any{"policies": items[start:end], "totalElements": len(items),
		"totalPages": total, "pageNo": pageNo, "pageSize": size})
}
