package nomadtest

import (
	"net/http"
	"sort"
	"strings"
)

// handleRoleCreate is PUT/POST /v1/acl/role.
func (s *Server) handleRoleCreate(w http.ResponseWriter, r *http.Request) (any, *codedError) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, errMethod
	}
	return s.upsertRole(w, r, "")
}

// handleRoleSpecific is /v1/acl/role/:id (GET, PUT/POST, DELETE) and
// GET /v1/acl/role/name/:name.
func (s *Server) handleRoleSpecific(w http.ResponseWriter, r *http.Request) (any, *codedError) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/acl/role/"), "/")
	switch len(parts) {
	case 1:
		if parts[0] == "" {
			return nil, coded(http.StatusBadRequest, "missing ACL role ID")
		}
		switch r.Method {
		case http.MethodGet:
			return s.readRole(w, r, parts[0], "")
		case http.MethodDelete:
			return s.deleteRole(w, r, parts[0])
		case http.MethodPut, http.MethodPost:
			return s.upsertRole(w, r, parts[0])
		}
		return nil, errMethod
	case 2:
		if r.Method != http.MethodGet {
			return nil, errMethod
		}
		if parts[0] != "name" {
			return nil, coded(http.StatusBadRequest, "invalid URI")
		}
		if parts[1] == "" {
			return nil, coded(http.StatusBadRequest, "missing ACL role name")
		}
		return s.readRole(w, r, "", parts[1])
	}
	return nil, coded(http.StatusBadRequest, "invalid URI")
}

// upsertRole is ACL.UpsertRoles for one role; it answers the stored role.
func (s *Server) upsertRole(w http.ResponseWriter, r *http.Request, pathID string) (any, *codedError) {
	var in aclRole
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if pathID != "" && pathID != in.ID {
		return nil, coded(http.StatusBadRequest, "ACL role ID does not match request path")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.requireManagement(r); err != nil {
		return nil, err
	}
	if msgs := validateRole(&in); len(msgs) > 0 {
		return nil, invalid("role", msgs)
	}
	var existing *aclRole
	if in.ID == "" {
		if s.roleByNameLocked(in.Name) != nil {
			return nil, coded(http.StatusBadRequest, "role with name %s already exists", in.Name)
		}
	} else if existing = s.roles[in.ID]; existing == nil {
		return nil, coded(http.StatusBadRequest, "cannot find role %s", in.ID)
	}
	role := &aclRole{ID: in.ID, Name: in.Name, Description: in.Description}
	seen := map[string]bool{}
	for _, l := range in.Policies {
		if l == nil {
			continue
		}
		if _, ok := s.policies[l.Name]; !ok {
			return nil, coded(http.StatusBadRequest, "cannot find policy %s", l.Name)
		}
		if !seen[l.Name] {
			seen[l.Name] = true
			role.Policies = append(role.Policies, &policyLink{Name: l.Name})
		}
	}
	if other := s.roleByNameLocked(role.Name); other != nil && other.ID != role.ID {
		return nil, coded(http.StatusBadRequest, "role with name %s already exists", role.Name)
	}
	if role.ID == "" {
		role.ID = newUUID()
	}
	role.setHash()
	s.index++
	role.CreateIndex, role.ModifyIndex = s.index, s.index
	if existing != nil {
		role.CreateIndex = existing.CreateIndex
	}
	s.roles[role.ID] = role
	s.roleIndex = s.index
	setIndex(w, s.index)
	return role.clone(), nil
}

// readRole is ACL.GetRoleByID (id set) or ACL.GetRoleByName (name set):
// management tokens read any role, other tokens only roles they link.
func (s *Server) readRole(w http.ResponseWriter, r *http.Request, id, name string) (any, *codedError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.authenticateLocked(r)
	if !c.authenticated() {
		return nil, errDenied
	}
	role := s.roles[id]
	if name != "" {
		role = s.roleByNameLocked(name)
	}
	if !c.isManagement() {
		if role == nil || !hasRoleLocked(c, role.ID) {
			return nil, errDenied
		}
	}
	if role == nil {
		setMeta(w, s.roleIndex, "")
		return nil, coded(http.StatusNotFound, errRoleNotFound)
	}
	setMeta(w, role.ModifyIndex, "")
	return role.clone(), nil
}

// deleteRole is ACL.DeleteRolesByID for one ID; an unknown ID is the state
// store's error, which Nomad answers with 500.
func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request, id string) (any, *codedError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.requireManagement(r); err != nil {
		return nil, err
	}
	if _, ok := s.roles[id]; !ok {
		return nil, coded(http.StatusInternalServerError, errRoleNotFound)
	}
	delete(s.roles, id)
	s.index++
	s.roleIndex = s.index
	setIndex(w, s.index)
	return nil, nil
}

// handleRoleList is GET /v1/acl/roles?prefix= (ID prefix).
func (s *Server) handleRoleList(w http.ResponseWriter, r *http.Request) (any, *codedError) {
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
	out := []*aclRole{}
	for _, role := range s.roles {
		if strings.HasPrefix(role.ID, q.prefix) && (c.isManagement() || hasRoleLocked(c, role.ID)) {
			out = append(out, role.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	setMeta(w, s.roleIndex, "")
	return out, nil
}

func (s *Server) roleByNameLocked(name string) *aclRole {
	for _, role := range s.roles {
		if role.Name == name {
			return role
		}
	}
	return nil
}
