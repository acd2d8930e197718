package nomadtest

import (
	"net/http"
	"slices"
	"time"
)

// Regions and ACL replication, as Nomad federates them:
//
//   - Every request goes to the region of its "region" query parameter,
//     else to the agent's own region; a region no server knows answers 500
//     "No path to region" (structs.ErrNoRegionPath, nomad/structs/errors.go;
//     the RPC layer's forwardRegion). The caller's token is resolved in
//     the region that handles the request.
//   - Each region keeps its own ACL token table. A local token lives only
//     in the region that made it.
//   - Global tokens are written in the ACL authoritative region
//     (server.authoritative_region, command/agent/config.go): ACL.Bootstrap
//     and ACL.UpsertTokens force a request with global tokens there, and
//     ACL.DeleteTokens forwards the delete of a global token there
//     (nomad/acl_endpoint.go). The leaders of the other regions copy the
//     authoritative region's global tokens into their own tables in a
//     loop (replicateACLTokens, nomad/leader.go, rate limited by
//     replicationRateLimit), so another region sees a new global token,
//     or loses a deleted one, only some time later: Options.ReplicationLag.
//   - ACL.DeleteTokens looks every accessor up in the handling region's own
//     table first: a global token that region has not replicated yet is
//     400 "Cannot delete nonexistent tokens" there, while it lives on in
//     the authoritative region.
//
// Policies and ACL roles are replicated from the authoritative region too;
// the emulator shares one table of each between regions (no lag).

// regionState is one region's ACL token table.
type regionState struct {
	name       string
	tokens     map[string]*aclToken
	secrets    map[string]string // secret -> accessor
	tokenIndex uint64
	// pending are replicated writes of global tokens not applied yet
	// (non-authoritative regions only), in order.
	pending []replicated
}

// replicated is one global token write on its way to a region.
type replicated struct {
	at       time.Time
	token    *aclToken // an upsert; nil for a delete
	accessor string
}

func newRegionState(name string) *regionState {
	return &regionState{name: name, tokens: map[string]*aclToken{}, secrets: map[string]string{}}
}

func (rg *regionState) put(t *aclToken, index uint64) {
	if old, ok := rg.tokens[t.AccessorID]; ok {
		delete(rg.secrets, old.SecretID)
	}
	rg.tokens[t.AccessorID] = t
	rg.secrets[t.SecretID] = t.AccessorID
	rg.tokenIndex = index
}

func (rg *regionState) remove(accessor string, index uint64) {
	if t, ok := rg.tokens[accessor]; ok {
		delete(rg.secrets, t.SecretID)
		delete(rg.tokens, accessor)
		rg.tokenIndex = index
	}
}

// catchUpLocked applies every replicated write that is due.
func (s *Server) catchUpLocked() {
	now := s.now()
	for _, rg := range s.regions {
		n := 0
		for _, op := range rg.pending {
			if op.at.After(now) {
				break
			}
			n++
			s.index++
			if op.token != nil {
				rg.put(op.token.clone(), s.index)
			} else {
				rg.remove(op.accessor, s.index)
			}
		}
		rg.pending = rg.pending[n:]
	}
}

// replicateLocked sends a global token's upsert (t) or delete (t nil) from
// the authoritative region to every other region, after the lag.
func (s *Server) replicateLocked(t *aclToken, accessor string) {
	at := s.now().Add(s.lag)
	for _, rg := range s.regions {
		if rg.name == s.authoritative {
			continue
		}
		op := replicated{at: at, accessor: accessor}
		if t != nil {
			op.token = t.clone()
		}
		rg.pending = append(rg.pending, op)
	}
	if s.lag <= 0 {
		s.catchUpLocked()
	}
}

// requestRegion is the region a request asks for ("" for the agent's).
func requestRegion(r *http.Request) string { return r.URL.Query().Get("region") }

// knownRegion reports whether a request's region exists.
func (s *Server) knownRegion(r *http.Request) bool {
	name := requestRegion(r)
	return name == "" || s.regions[name] != nil
}

// regionLocked returns the region that handles r (checked by ServeHTTP),
// caught up with replication.
func (s *Server) regionLocked(r *http.Request) *regionState {
	s.catchUpLocked()
	if rg := s.regions[requestRegion(r)]; rg != nil {
		return rg
	}
	return s.regions[s.local]
}

// authoritativeLocked returns the ACL authoritative region, caught up.
func (s *Server) authoritativeLocked() *regionState {
	s.catchUpLocked()
	return s.regions[s.authoritative]
}

// TokenIn returns a snapshot of the token with this accessor as region
// sees it now (replication included).
func (s *Server) TokenIn(region, accessor string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	rg := s.regions[region]
	if rg == nil {
		return Token{}, false
	}
	t, ok := rg.tokens[accessor]
	if !ok {
		return Token{}, false
	}
	return s.snapshotLocked(t), true
}

// regionOrder lists the regions, the authoritative one first.
func (s *Server) regionOrder() []*regionState {
	out := []*regionState{s.regions[s.authoritative]}
	names := make([]string, 0, len(s.regions))
	for name := range s.regions {
		if name != s.authoritative {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		out = append(out, s.regions[name])
	}
	return out
}
