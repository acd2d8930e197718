package nomadtest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// handleBootstrap is PUT/POST /v1/acl/bootstrap (no authentication),
// which ACL.Bootstrap always sends to the authoritative region.
func (s *Server) handleBootstrap(w http.ResponseWriter, r *http.Request) (any, *codedError) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, errMethod
	}
	var in struct{ BootstrapSecret string }
	if r.ContentLength != 0 {
		if err := decodeBody(r, &in); err != nil {
			return nil, coded(http.StatusBadRequest, "failed to decode request body: %s", err.msg)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	if s.bootstrapIndex != 0 {
		return nil, coded(http.StatusBadRequest, "ACL bootstrap already done (reset index: %d)", s.bootstrapIndex)
	}
	secret := newUUID()
	if in.BootstrapSecret != "" {
		if !isUUID(in.BootstrapSecret) {
			return nil, coded(http.StatusBadRequest, "invalid acl token")
		}
		secret = in.BootstrapSecret
	}
	t := s.bootstrapLocked(newUUID(), secret)
	setIndex(w, s.index)
	return t.clone(), nil
}

// handleTokenCreate is PUT/POST /v1/acl/token.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) (any, *codedError) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, errMethod
	}
	return s.upsertToken(w, r, "")
}

// handleTokenCrud is GET, PUT/POST and DELETE /v1/acl/token/:accessor.
func (s *Server) handleTokenCrud(w http.ResponseWriter, r *http.Request) (any, *codedError) {
	accessor := strings.TrimPrefix(r.URL.Path, "/v1/acl/token/")
	if accessor == "" {
		return nil, coded(http.StatusBadRequest, "Missing Token Accessor")
	}
	switch r.Method {
	case http.MethodGet:
		return s.readToken(w, r, accessor)
	case http.MethodPut, http.MethodPost:
		return s.upsertToken(w, r, accessor)
	case http.MethodDelete:
		return s.deleteToken(w, r, accessor)
	}
	return nil, errMethod
}

// upsertToken creates, uploads or updates one token (ACL.UpsertTokens).
func (s *Server) upsertToken(w http.ResponseWriter, r *http.Request, pathAccessor string) (any, *codedError) {
	var in tokenInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if pathAccessor != "" && in.AccessorID != pathAccessor {
		return nil, coded(http.StatusBadRequest, errTokenAccessorMismatch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// ACL.UpsertTokens forces a request with global tokens to the
	// authoritative region.
	rg := s.regionLocked(r)
	if in.Global {
		rg = s.authoritativeLocked()
	}
	if err := s.requireManagementIn(rg, r); err != nil {
		return nil, err
	}
	var existing *aclToken
	if in.AccessorID != "" {
		existing = rg.tokens[in.AccessorID]
		if existing == nil && (!isUUID(in.AccessorID) || !isUUID(in.SecretID) || in.Type == typeManagement) {
			return nil, coded(http.StatusBadRequest, "cannot find token %s", in.AccessorID)
		}
		if existing == nil {
			if _, taken := rg.secrets[in.SecretID]; taken {
				return nil, coded(http.StatusBadRequest, "cannot upload token: secret ID already in use")
			}
		}
	}
	t := s.canonicalizeLocked(in)
	if msgs := validateToken(t, s.minTTL, s.maxTTL, existing); len(msgs) > 0 {
		return nil, invalid("token", msgs)
	}
	links, err := s.normalizeRoleLinksLocked(t.Roles)
	if err != nil {
		return nil, err
	}
	t.Roles = links
	t.setHash()
	s.index++
	t.CreateIndex, t.ModifyIndex = s.index, s.index
	if existing != nil {
		t.CreateIndex = existing.CreateIndex
		if t.SecretID == "" {
			t.SecretID = existing.SecretID
		}
	}
	rg.put(t, s.index)
	if t.Global {
		s.replicateLocked(t, t.AccessorID)
	}
	setIndex(w, s.index)
	return s.fixRoleLinksLocked(t), nil
}

// canonicalizeLocked is structs.ACLToken.Canonicalize: new IDs and create
// time for a new token, ExpirationTime from ExpirationTTL.
func (s *Server) canonicalizeLocked(in tokenInput) *aclToken {
	t := &aclToken{
		AccessorID: in.AccessorID, SecretID: in.SecretID, Name: in.Name, Type: in.Type,
		Policies: in.Policies, Roles: in.Roles, Global: in.Global,
		CreateTime: in.CreateTime, ExpirationTime: in.ExpirationTime, ExpirationTTL: in.ExpirationTTL,
	}
	if t.AccessorID == "" {
		t.AccessorID, t.SecretID = newUUID(), newUUID()
		t.CreateTime = s.now().UTC()
	} else if !t.CreateTime.IsZero() {
		return t
	} else {
		t.CreateTime = s.now().UTC()
	}
	if t.ExpirationTime == nil && t.ExpirationTTL != 0 {
		exp := t.CreateTime.Add(t.ExpirationTTL)
		t.ExpirationTime = &exp
	}
	return t
}

// readToken is GET /v1/acl/token/:accessor (ACL.GetToken).
func (s *Server) readToken(w http.ResponseWriter, r *http.Request, accessor string) (any, *codedError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rg := s.regionLocked(r)
	c := s.authenticateIn(rg, r)
	switch c.kind {
	case authExpired:
		return nil, errExpired
	case authInvalid, authNotFound:
		return nil, errDenied
	}
	t := rg.tokens[accessor]
	if t == nil {
		if !c.isManagement() {
			return nil, errDenied
		}
		setMeta(w, rg.tokenIndex, "")
		return nil, coded(http.StatusNotFound, errTokenNotFound)
	}
	if !c.isManagement() && t.SecretID != c.secret {
		return nil, errDenied
	}
	setMeta(w, t.ModifyIndex, "")
	return s.fixRoleLinksLocked(t), nil
}

// handleTokenSelf is GET /v1/acl/token/self (ACL.WhoAmI since 1.10.1): an
// unknown secret is 403, an expired one 500, no secret the anonymous token.
func (s *Server) handleTokenSelf(w http.ResponseWriter, r *http.Request) (any, *codedError) {
	if r.Method != http.MethodGet {
		return nil, errMethod
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.authenticateLocked(r)
	switch c.kind {
	case authExpired:
		return nil, errExpired
	case authInvalid, authNotFound:
		return nil, errDenied
	case authAnonymous:
		setMeta(w, 0, "")
		return c.token, nil
	}
	setMeta(w, c.token.ModifyIndex, "")
	return s.fixRoleLinksLocked(c.token), nil
}

// deleteToken is DELETE /v1/acl/token/:accessor (ACL.DeleteTokens): the
// handling region looks the token up in its own table (a global token it
// has not replicated yet is "nonexistent" there), and the delete of a
// global token is forwarded to the authoritative region.
func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, accessor string) (any, *codedError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rg := s.regionLocked(r)
	if err := s.requireManagementIn(rg, r); err != nil {
		return nil, err
	}
	t := rg.tokens[accessor]
	if t == nil {
		return nil, coded(http.StatusBadRequest, "Cannot delete nonexistent tokens: %s", accessor)
	}
	if t.Global && rg.name != s.authoritative {
		rg = s.authoritativeLocked()
		if err := s.requireManagementIn(rg, r); err != nil {
			return nil, err
		}
		if t = rg.tokens[accessor]; t == nil {
			return nil, coded(http.StatusBadRequest, "Cannot delete nonexistent tokens: %s", accessor)
		}
	}
	s.index++
	rg.remove(accessor, s.index)
	if t.Global {
		s.replicateLocked(nil, accessor)
	}
	setIndex(w, s.index)
	return nil, nil
}

// handleTokenList is GET /v1/acl/tokens (ACL.ListTokens) with prefix,
// filter, per_page, next_token and reverse.
func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) (any, *codedError) {
	if r.Method != http.MethodGet {
		return nil, errMethod
	}
	q, qerr := parseQuery(r)
	if qerr != nil {
		return nil, qerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rg := s.regionLocked(r)
	if err := s.requireManagementIn(rg, r); err != nil {
		return nil, err
	}
	var f *filterExpr
	if q.filter != "" {
		var err error
		if f, err = parseFilter(q.filter); err != nil {
			return nil, coded(http.StatusBadRequest, "failed to create result paginator: failed to read filter expression: %v", err)
		}
	}
	byID := q.prefix != ""
	all := sortedTokens(rg, byID)
	if q.reverse {
		slices.Reverse(all)
	}
	out := []*tokenStub{}
	next := ""
	for _, t := range all {
		if byID && !strings.HasPrefix(t.AccessorID, q.prefix) {
			continue
		}
		tok, cmp := pageToken(t, byID, q.nextToken)
		if q.nextToken != "" && ((!q.reverse && cmp < 0) || (q.reverse && cmp > 0)) {
			continue
		}
		if f != nil {
			ok, err := f.eval(t)
			if err != nil {
				return nil, coded(http.StatusBadRequest, "failed to read result page: %v", err)
			}
			if !ok {
				continue
			}
		}
		if q.perPage > 0 && int32(len(out)) >= q.perPage {
			next = tok
			break
		}
		out = append(out, t.stub())
	}
	setMeta(w, rg.tokenIndex, next)
	return out, nil
}

// pageToken is Nomad's paginator token of t and its comparison with the
// requested next_token: "<CreateIndex>.<AccessorID>" by default, the
// accessor for prefix lists.
func pageToken(t *aclToken, byID bool, target string) (string, int) {
	if byID {
		return t.AccessorID, strings.Compare(t.AccessorID, target)
	}
	tok := fmt.Sprintf("%d.%s", t.CreateIndex, t.AccessorID)
	idx, id, ok := strings.Cut(target, ".")
	var n uint64
	if _, err := fmt.Sscanf(idx, "%d", &n); !ok || err != nil || fmt.Sprint(n) != idx {
		return tok, strings.Compare(tok, target)
	}
	switch {
	case t.CreateIndex < n:
		return tok, -1
	case t.CreateIndex > n:
		return tok, 1
	}
	return tok, strings.Compare(t.AccessorID, id)
}

// fixRoleLinksLocked returns a copy of t whose role links carry the roles'
// current names, without roles deleted since (Nomad's fixTokenRoleLinks).
func (s *Server) fixRoleLinksLocked(t *aclToken) *aclToken {
	c := t.clone()
	if t.Roles == nil {
		return c
	}
	c.Roles = c.Roles[:0]
	for _, l := range t.Roles {
		if role, ok := s.roles[l.ID]; ok {
			c.Roles = append(c.Roles, &roleLink{ID: l.ID, Name: role.Name})
		}
	}
	return c
}

// normalizeRoleLinksLocked resolves role links given by ID or name to
// stored IDs (name emptied), removing duplicates.
func (s *Server) normalizeRoleLinksLocked(links []*roleLink) ([]*roleLink, *codedError) {
	var out []*roleLink
	seen := map[string]bool{}
	for _, l := range links {
		if l == nil {
			continue
		}
		var role *aclRole
		ident := l.ID
		if l.ID == "" {
			ident = l.Name
			role = s.roleByNameLocked(l.Name)
		} else {
			role = s.roles[l.ID]
		}
		if role == nil {
			return nil, coded(http.StatusBadRequest, "cannot find role %s", ident)
		}
		if !seen[role.ID] {
			seen[role.ID] = true
			out = append(out, &roleLink{ID: role.ID})
		}
	}
	return out, nil
}
