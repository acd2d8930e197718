package nomadtest

import (
	"net/http"
	"strconv"

	"github.com/hashicorp/hcl"
)

// actionAgentSelf is the call-log action of GET /v1/agent/self.
const actionAgentSelf = "AgentSelf"

// agentSelfConfig is the part of the agent's Config (command/agent/
// config.go) that /v1/agent/self shows here. Nomad encodes it with its Go
// field names; the real answer has many more fields.
type agentSelfConfig struct {
	Region     string
	Datacenter string
	NodeName   string
	Server     agentServerConfig
	Client     agentClientConfig
	ACL        agentACLConfig
}

type agentServerConfig struct {
	Enabled             bool
	AuthoritativeRegion string
}

type agentClientConfig struct {
	Enabled bool
}

type agentACLConfig struct {
	Enabled bool
}

// agentMember is the agent's serf member (zero for a client agent).
type agentMember struct {
	Name   string
	Addr   string
	Port   uint16
	Tags   map[string]string
	Status string
}

// handleAgentSelf is GET /v1/agent/self (AgentSelfRequest in
// command/agent/agent_endpoint.go): the agent's own configuration, member
// and stats. It needs the agent:read capability, resolved by the agent in
// its own region; the region parameter is ignored. A server agent that
// leaves server.authoritative_region unset shows "" there (Nomad then
// treats its own region as authoritative, command/agent/agent.go).
func (s *Server) handleAgentSelf(w http.ResponseWriter, r *http.Request) (any, *codedError) {
	if r.Method != http.MethodGet {
		return nil, errMethod
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	c := s.authenticateIn(s.regions[s.local], r)
	switch c.kind {
	case authExpired:
		return nil, errExpired
	case authInvalid, authNotFound:
		return nil, errDenied
	}
	if !s.allowAgentReadLocked(c) {
		return nil, errDenied
	}
	out := struct {
		Config agentSelfConfig              `json:"config"`
		Member agentMember                  `json:"member"`
		Stats  map[string]map[string]string `json:"stats"`
	}{
		Config: agentSelfConfig{
			Region:     s.local,
			Datacenter: s.datacenter,
			NodeName:   "nomadtest",
			Server:     agentServerConfig{Enabled: !s.clientAgent, AuthoritativeRegion: s.configuredAuthority},
			Client:     agentClientConfig{Enabled: s.clientAgent},
			ACL:        agentACLConfig{Enabled: true},
		},
		Stats: map[string]map[string]string{},
	}
	if s.clientAgent {
		out.Stats["client"] = map[string]string{"known_servers": "127.0.0.1:4647"}
	} else {
		out.Member = agentMember{
			Name: "nomadtest." + s.local, Addr: "127.0.0.1", Port: 4648, Status: "alive",
			Tags: map[string]string{"region": s.local, "dc": s.datacenter, "role": "nomad"},
		}
		out.Stats["nomad"] = map[string]string{
			"server": "true", "leader": "true", "known_regions": strconv.Itoa(len(s.regions)),
		}
	}
	return out, nil
}

// allowAgentReadLocked is acl.ACL.AllowAgentRead: a management token, or a
// policy of the caller (or of its roles) with an agent block whose policy
// is read or write.
func (s *Server) allowAgentReadLocked(c caller) bool {
	if c.isManagement() {
		return true
	}
	for name := range s.policySetLocked(c) {
		p := s.policies[name]
		if p == nil {
			continue
		}
		var rules struct {
			Agent []struct{ Policy string } `hcl:"agent"`
		}
		if err := hcl.Decode(&rules, p.Rules); err != nil {
			continue
		}
		for _, a := range rules.Agent {
			if a.Policy == "read" || a.Policy == "write" {
				return true
			}
		}
	}
	return false
}
