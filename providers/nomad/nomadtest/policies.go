package nomadtest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/hashicorp/hcl"
)

// policyBlocks are the top-level blocks of a Nomad ACL policy; a policy
// with none of them is "empty" and refused, as acl.Parse does.
var policyBlocks = []string{"namespace", "node_pool", "agent", "node", "operator", "quota", "host_volume", "plugin"}

// parseRules is a light acl.Parse: the rules must be HCL (or JSON) and
// hold at least one known block. Capabilities are not checked.
func parseRules(rules string) error {
	if rules == "" {
		return nil
	}
	var m map[string]any
	if err := hcl.Decode(&m, rules); err != nil {
		return fmt.Errorf("Failed to parse ACL Policy: %v", err)
	}
	for _, b := range policyBlocks {
		if _, ok := m[b]; ok {
			return nil
		}
	}
	return fmt.Errorf("Invalid policy: %s", rules)
}

// handlePolicy is GET, PUT/POST and DELETE /v1/acl/policy/:name.
func (s *Server) handlePolicy(w http.ResponseWriter, r *http.Request) (any, *codedError) {
	name := strings.TrimPrefix(r.URL.Path, "/v1/acl/policy/")
	if name == "" {
		return nil, coded(http.StatusBadRequest, "Missing Policy Name")
	}
	switch r.Method {
	case http.MethodGet:
		return s.readPolicy(w, r, name)
	case http.MethodPut, http.MethodPost:
		return s.upsertPolicy(w, r, name)
	case http.MethodDelete:
		return s.deletePolicy(w, r, name)
	}
	return nil, errMethod
}

// upsertPolicy is ACL.UpsertPolicies for one policy; the answer is empty.
func (s *Server) upsertPolicy(w http.ResponseWriter, r *http.Request, name string) (any, *codedError) {
	var in aclPolicy
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.Name != name {
		return nil, coded(http.StatusBadRequest, "ACL policy name does not match request path")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.requireManagement(r); err != nil {
		return nil, err
	}
	if msgs := validatePolicy(&in); len(msgs) > 0 {
		return nil, invalid("policy", msgs)
	}
	p := &aclPolicy{Name: in.Name, Description: in.Description, Rules: in.Rules, JobACL: in.JobACL}
	p.setHash()
	s.index++
	p.CreateIndex, p.ModifyIndex = s.index, s.index
	if old, ok := s.policies[p.Name]; ok {
		p.CreateIndex = old.CreateIndex
	}
	s.policies[p.Name] = p
	s.policyIndex = s.index
	setIndex(w, s.index)
	return nil, nil
}

// readPolicy is ACL.GetPolicy: management tokens read any policy, other
// tokens only the policies they hold (directly or through roles); anyone
// may read "anonymous".
func (s *Server) readPolicy(w http.ResponseWriter, r *http.Request, name string) (any, *codedError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.authenticateLocked(r)
	if !c.authenticated() {
		return nil, errDenied
	}
	if name != anonymousPolicyName && !c.isManagement() && !s.policySetLocked(c)[name] {
		return nil, errDenied
	}
	p, ok := s.policies[name]
	if !ok {
		setMeta(w, s.policyIndex, "")
		return nil, coded(http.StatusNotFound, errPolicyNotFound)
	}
	setMeta(w, p.ModifyIndex, "")
	out := *p
	return &out, nil
}

// deletePolicy is ACL.DeletePolicies for one name: 200 even if the policy
// does not exist.
func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request, name string) (any, *codedError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.requireManagement(r); err != nil {
		return nil, err
	}
	delete(s.policies, name)
	s.index++
	s.policyIndex = s.index
	setIndex(w, s.index)
	return nil, nil
}

// handlePolicyList is GET /v1/acl/policies?prefix= (name prefix).
func (s *Server) handlePolicyList(w http.ResponseWriter, r *http.Request) (any, *codedError) {
	if r.Method != http.MethodGet {
		return nil, errMethod
	}
	q, qerr := parseQuery(r)
	if qerr != nil {
		return nil, qerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.authenticateLocked(r)
	if !c.authenticated() {
		return nil, errDenied
	}
	allowed := s.policySetLocked(c)
	out := []*policyStub{}
	for _, p := range s.policies {
		if strings.HasPrefix(p.Name, q.prefix) && (c.isManagement() || allowed[p.Name]) {
			out = append(out, p.stub())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	setMeta(w, max(s.policyIndex, 1), "")
	return out, nil
}
