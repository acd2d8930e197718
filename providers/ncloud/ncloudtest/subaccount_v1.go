package ncloudtest

import (
	"net/http"
	"strconv"
	"strings"
)

// Sub Account API v1 (api.ncloud-docs.com/docs/en/management-subaccount-*).
// Success bodies are ProcessResult ({"success":true[,"id"]}) or the
// documented objects; errors are v1Error (see writeV1Error).

type v1CreateRequest struct {
	LoginID              string   `json:"loginId"`
	Name                 string   `json:"name"`
	Email                string   `json:"email"`
	Memo                 string   `json:"memo"`
	Password             string   `json:"password"`
	NeedPasswordGenerate bool     `json:"needPasswordGenerate"`
	NeedPasswordReset    *bool    `json:"needPasswordReset"`
	CanAPIGatewayAccess  *bool    `json:"canAPIGatewayAccess"`
	CanConsoleAccess     *bool    `json:"canConsoleAccess"`
	IsMfaMandatory       bool     `json:"isMfaMandatory"`
	UseAPIAllowSource    bool     `json:"useApiAllowSource"`
	ConsolePermitIps     []string `json:"consolePermitIps"`
}

type processResult struct {
	Success bool   `json:"success"`
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	Message string `json:"message,omitempty"`
}

type v1SubAccountJSON struct {
	SubAccountID        string   `json:"subAccountId"`
	SubAccountNo        int      `json:"subAccountNo"`
	NRN                 string   `json:"nrn"`
	LoginID             string   `json:"loginId"`
	Name                string   `json:"name"`
	Email               string   `json:"email"`
	Memo                string   `json:"memo"`
	NeedPasswordReset   bool     `json:"needPasswordReset"`
	CanAPIGatewayAccess bool     `json:"canAPIGatewayAccess"`
	CanConsoleAccess    bool     `json:"canConsoleAccess"`
	Active              bool     `json:"active"`
	CreateTime          string   `json:"createTime"`
	ModifiedTime        string   `json:"modifiedTime"`
	UseConsolePermitIP  bool     `json:"useConsolePermitIp"`
	ConsolePermitIps    []string `json:"consolePermitIps"`
	UseAPIAllowSource   bool     `json:"useApiAllowSource"`
	APIAllowSources     []any    `json:"apiAllowSources"`
}

type v1Page struct {
	Page        int  `json:"page"`
	TotalPages  int  `json:"totalPages"`
	TotalItems  int  `json:"totalItems"`
	HasPrevious bool `json:"hasPrevious"`
	HasNext     bool `json:"hasNext"`
	IsFirst     bool `json:"isFirst"`
	IsLast      bool `json:"isLast"`
	Items       any  `json:"items"`
}

func newV1Page(pageNo, totalPages, totalItems int, items any) v1Page {
	return v1Page{Page: pageNo, TotalPages: totalPages, TotalItems: totalItems, HasPrevious: pageNo > 0,
		HasNext: pageNo+1 < totalPages, IsFirst: pageNo == 0, IsLast: pageNo+1 >= totalPages, Items: items}
}

func v1SubJSON(sa *subAccount) v1SubAccountJSON {
	return v1SubAccountJSON{SubAccountID: sa.id, SubAccountNo: sa.no, NRN: sa.nrn, LoginID: sa.loginID, Name: sa.name,
		Email: sa.email, Memo: sa.memo, NeedPasswordReset: sa.needPasswordReset, CanAPIGatewayAccess: sa.apiGatewayAccess,
		CanConsoleAccess: sa.console, Active: true, CreateTime: fmtTime(sa.created), ModifiedTime: fmtTime(sa.modified),
		ConsolePermitIps: []string{}, APIAllowSources: []any{}}
}

// POST /api/v1/sub-accounts → 200 ProcessResult {"success":true,"id":subAccountId}.
func (s *Server) v1CreateSubAccount(w http.ResponseWriter, req *request) {
	var in v1CreateRequest
	if err := decodeBody(req.body, &in); err != nil {
		writeV1Error(w, err)
		return
	}
	for field, v := range map[string]*bool{"needPasswordReset": in.NeedPasswordReset, "canAPIGatewayAccess": in.CanAPIGatewayAccess, "canConsoleAccess": in.CanConsoleAccess} {
		if v == nil {
			writeV1Error(w, validation(field, field+" is required"))
			return
		}
	}
	s.mu.Lock()
	sa, err := req.st.createSubAccount(newSubAccountInput{loginID: in.LoginID, name: in.Name, email: in.Email, memo: in.Memo,
		password: in.Password, generatePassword: in.NeedPasswordGenerate, needPasswordReset: *in.NeedPasswordReset,
		apiGatewayAccess: *in.CanAPIGatewayAccess, console: *in.CanConsoleAccess}, s.clock())
	s.mu.Unlock()
	if err != nil {
		writeV1Error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, processResult{Success: true, ID: sa.id})
}

// GET /api/v1/sub-accounts?searchColumn=loginId|name|subAccountNo&searchWord=&page=&size=
func (s *Server) v1ListSubAccounts(w http.ResponseWriter, req *request) {
	q := req.r.URL.Query()
	pageNo, err := intParam(q, "page", 0, 0, 0)
	var size int
	if err == nil {
		size, err = intParam(q, "size", 10, 1, 0)
	}
	col, word := q.Get("searchColumn"), q.Get("searchWord")
	if err == nil && col != "" && col != "loginId" && col != "name" && col != "subAccountNo" {
		err = validation("searchColumn", "searchColumn must be loginId, name or subAccountNo")
	}
	if err != nil {
		writeV1Error(w, err)
		return
	}
	s.mu.Lock()
	var items []v1SubAccountJSON
	for _, sa := range req.st.sortedSubs() {
		if word == "" || matchSearch(sa, col, word) {
			items = append(items, v1SubJSON(sa))
		}
	}
	s.mu.Unlock()
	start, end, total := page(len(items), pageNo, size)
	writeJSON(w, http.StatusOK, newV1Page(pageNo, total, len(items), append([]v1SubAccountJSON{}, items[start:end]...)))
}

func matchSearch(sa *subAccount, col, word string) bool {
	switch col {
	case "loginId":
		return strings.Contains(sa.loginID, word)
	case "name":
		return strings.Contains(sa.name, word)
	case "subAccountNo":
		return strconv.Itoa(sa.no) == word
	}
	return strings.Contains(sa.loginID, word) || strings.Contains(sa.name, word)
}

// GET /api/v1/sub-accounts/{subAccountId}
func (s *Server) v1GetSubAccount(w http.ResponseWriter, req *request) {
	s.mu.Lock()
	sa, err := req.st.sub(req.params[0])
	var out v1SubAccountJSON
	if err == nil {
		out = v1SubJSON(sa)
	}
	s.mu.Unlock()
	if err != nil {
		writeV1Error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// DELETE /api/v1/sub-accounts/{subAccountId} → {"success":true}. Refused
// while access keys remain (the v2 docs state this rule; v1 is silent).
func (s *Server) v1DeleteSubAccount(w http.ResponseWriter, req *request) {
	s.mu.Lock()
	err := req.st.deleteSubAccount(req.params[0], false)
	s.mu.Unlock()
	if err != nil {
		writeV1Error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, processResult{Success: true})
}

type policyIDList struct {
	PolicyIDList []string `json:"policyIdList"`
}

// POST /api/v1/sub-accounts/{id}/policies {"policyIdList":[...]} → 200
// [{"success":true,"id":policyId,"name":"addPolicy"}, ...]; an unknown
// policy is a {"success":false,...,"message"} item.
func (s *Server) v1AddPolicies(w http.ResponseWriter, req *request) {
	s.v1PolicyOp(w, req, "addPolicy", (*state).attach)
}

// DELETE /api/v1/sub-accounts/{id}/policies {"policyIdList":[...]} → 200
// [{"id":policyId,"success":true}, ...].
func (s *Server) v1RemovePolicies(w http.ResponseWriter, req *request) {
	s.v1PolicyOp(w, req, "", (*state).detach)
}

func (s *Server) v1PolicyOp(w http.ResponseWriter, req *request, name string, op func(*state, *subAccount, string) *opError) {
	var in policyIDList
	if err := decodeBody(req.body, &in); err != nil {
		writeV1Error(w, err)
		return
	}
	if len(in.PolicyIDList) == 0 {
		writeV1Error(w, validation("policyIdList", "policyIdList must not be empty"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sa, err := req.st.sub(req.params[0])
	if err != nil {
		writeV1Error(w, err)
		return
	}
	out := make([]processResult, 0, len(in.PolicyIDList))
	for _, id := range in.PolicyIDList {
		if err := op(req.st, sa, id); err != nil {
			msg := "Policy is not registered."
			if err.kind == errAlreadyAttached {
				msg = "Policy is already attached."
			}
			out = append(out, processResult{Success: false, ID: id, Message: msg})
			continue
		}
		out = append(out, processResult{Success: true, ID: id, Name: name})
	}
	sa.modified = s.clock()
	writeJSON(w, http.StatusOK, out)
}

type v1AccessKeyJSON struct {
	AccessKey  string `json:"accessKey"`
	KeySecret  string `json:"keySecret,omitempty"`
	Active     *bool  `json:"active,omitempty"`
	CreateTime string `json:"createTime"`
}

// POST /api/v1/sub-accounts/{id}/access-keys → {"accessKey","keySecret","createTime"}.
func (s *Server) v1CreateAccessKey(w http.ResponseWriter, req *request) {
	s.mu.Lock()
	k, err := req.st.createAccessKey(req.params[0], s.clock())
	var out v1AccessKeyJSON
	if err == nil {
		out = v1AccessKeyJSON{AccessKey: k.id, KeySecret: k.secret, CreateTime: fmtTime(k.created)}
	}
	s.mu.Unlock()
	if err != nil {
		writeV1Error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// GET /api/v1/sub-accounts/{id}/access-keys → [{"accessKey","active","createTime"}].
func (s *Server) v1ListAccessKeys(w http.ResponseWriter, req *request) {
	s.mu.Lock()
	sa, err := req.st.sub(req.params[0])
	out := []v1AccessKeyJSON{}
	if err == nil {
		for _, id := range sa.keys {
			k := req.st.keys[id]
			active := k.active
			out = append(out, v1AccessKeyJSON{AccessKey: id, Active: &active, CreateTime: fmtTime(k.created)})
		}
	}
	s.mu.Unlock()
	if err != nil {
		writeV1Error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// PUT /api/v1/sub-accounts/{id}/access-keys {"accessKey","active"} →
// {"success":true} (management-subaccount-suspendkey).
func (s *Server) v1SetAccessKeyStatus(w http.ResponseWriter, req *request) {
	var in struct {
		AccessKey string `json:"accessKey"`
		Active    *bool  `json:"active"`
	}
	if err := decodeBody(req.body, &in); err != nil {
		writeV1Error(w, err)
		return
	}
	if in.AccessKey == "" || in.Active == nil {
		writeV1Error(w, validation("accessKey", "accessKey and active are required"))
		return
	}
	s.mu.Lock()
	err := req.st.setKeyActive(req.params[0], in.AccessKey, *in.Active)
	s.mu.Unlock()
	if err != nil {
		writeV1Error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, processResult{Success: true})
}

// DELETE /api/v1/sub-accounts/{id}/access-keys {"accessKey":"..."} → {"success":true}.
func (s *Server) v1DeleteAccessKey(w http.ResponseWriter, req *request) {
	var in struct {
		AccessKey string `json:"accessKey"`
	}
	if err := decodeBody(req.body, &in); err != nil {
		writeV1Error(w, err)
		return
	}
	if in.AccessKey == "" {
		writeV1Error(w, validation("accessKey", "accessKey is required"))
		return
	}
	s.mu.Lock()
	err := req.st.deleteAccessKey(req.params[0], in.AccessKey)
	s.mu.Unlock()
	if err != nil {
		writeV1Error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, processResult{Success: true})
}

type v1PolicyJSON struct {
	PolicyID   string `json:"policyId"`
	PolicyName string `json:"policyName"`
	PolicyType string `json:"policyType"`
	CreateTime string `json:"createTime"`
}

// GET /api/v1/policies?page=&size=&searchColumn=policyName&searchWord=&type=
func (s *Server) v1ListPolicies(w http.ResponseWriter, req *request) {
	q := req.r.URL.Query()
	pageNo, err := intParam(q, "page", 0, 0, 0)
	var size int
	if err == nil {
		size, err = intParam(q, "size", 10, 1, 0)
	}
	typ := q.Get("type")
	if err == nil && typ != "" && typ != policySystemManaged && typ != policyUserCreated {
		err = validation("type", "type must be SYSTEM_MANAGED or USER_CREATED")
	}
	if err != nil {
		writeV1Error(w, err)
		return
	}
	word := q.Get("searchWord")
	s.mu.Lock()
	var items []v1PolicyJSON
	for _, p := range req.st.sortedPolicies() {
		if (typ == "" || p.typ == typ) && (word == "" || strings.Contains(p.name, word)) {
			items = append(items, v1PolicyJSON{PolicyID: p.id, PolicyName: p.name, PolicyType: p.typ, CreateTime: fmtTime(p.created)})
		}
	}
	s.mu.Unlock()
	start, end, total := page(len(items), pageNo, size)
	writeJSON(w, http.StatusOK, newV1Page(pageNo, total, len(items), append([]v1PolicyJSON{}, items[start:end]...)))
}
