package nomad

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// cluster is what the driver learns about the Nomad cluster it acts on.
type cluster struct {
	// agentRegion is the region of the agent the address reaches.
	agentRegion string
	// region is where the instance acts: the config's region, else the
	// agent's. Local tokens live there.
	region string
	// authoritative is the ACL authoritative region, where global tokens
	// are created, deleted and live first ("" if the agent cannot tell).
	authoritative string
	// target identifies the cluster and region.
	target providers.Target
}

// agentSelf is the part of GET /v1/agent/self the driver reads. Nomad
// answers it from the agent's own configuration (AgentSelfRequest in
// command/agent/agent_endpoint.go, which needs the agent:read capability;
// a management token has it). "config" is the agent's Config
// (command/agent/config.go), encoded with its Go field names:
//   - Config.Region: the agent's region (default "global");
//   - Config.Server.Enabled: whether the agent is a server;
//   - Config.Server.AuthoritativeRegion: server.authoritative_region, the
//     region "treated as the source of truth for global tokens and ACL
//     policies". When a server leaves it unset, Nomad uses the server's
//     own region (command/agent/agent.go, convertServerConfig), and the
//     field reads "".
//
// This is also how Nomad's own api.Agent learns the region
// (Agent.populateCache reads Config["Region"], api/agent.go).
type agentSelf struct {
	Config struct {
		Region string
		Server *struct {
			Enabled             bool
			AuthoritativeRegion string
		}
	} `json:"config"`
}

// cluster returns what the driver knows of the cluster, reading
// /v1/agent/self once (with retries); a failure is not cached.
func (p *provider) cluster(ctx context.Context) (*cluster, error) {
	p.clusterMu.Lock()
	defer p.clusterMu.Unlock()
	if p.cl != nil {
		return p.cl, nil
	}
	var self agentSelf
	err := p.s.retry.retry(ctx, func() error {
		_, err := p.client.Raw().Query("/v1/agent/self", &self, p.queryOpts(ctx, ""))
		return err
	})
	if err != nil {
		return nil, cloudErr("ReadAgentSelf", err)
	}
	cl := &cluster{agentRegion: self.Config.Region, region: p.s.region}
	if cl.agentRegion == "" {
		return nil, &providers.CloudError{Op: "ReadAgentSelf", Code: "IncompleteResponse", Message: "Nomad's /v1/agent/self names no region"}
	}
	if cl.region == "" {
		cl.region = cl.agentRegion
	}
	if srv := self.Config.Server; srv != nil {
		switch {
		case srv.AuthoritativeRegion != "":
			cl.authoritative = srv.AuthoritativeRegion
		case srv.Enabled:
			cl.authoritative = cl.agentRegion
		}
	}
	cl.target = targetOf(p.s.address, cl)
	p.cl = cl
	p.logger.Debug("identified the Nomad cluster", "target", cl.target.ID, "agent_region", cl.agentRegion, "authoritative_region", cl.authoritative)
	return cl, nil
}

// targetOf identifies a cluster. Nomad keeps a cluster id
// (structs.ClusterMetadata, made by the leader in nomad/leader.go) but
// Nomad CE serves it on no HTTP route (command/agent/http.go registers
// none; only Enterprise reporting reads it), and nothing else in the API
// is both unique to a cluster and stable: region names repeat across
// clusters ("global" is every cluster's default), server ids and root
// keys change. So a target is the API's host and port, which reach one
// cluster, with the region the instance acts in: "nomad:<host>:<port>/<region>".
// The token is not part of it, so rotate-root keeps the target.
func targetOf(address string, cl *cluster) providers.Target {
	hostPort := address
	if u, err := url.Parse(address); err == nil {
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		hostPort = net.JoinHostPort(strings.ToLower(u.Hostname()), port)
	}
	desc := fmt.Sprintf("Nomad region %s at %s", cl.region, hostPort)
	if cl.authoritative != "" && cl.authoritative != cl.region {
		desc += fmt.Sprintf(" (ACL authoritative region %s)", cl.authoritative)
	}
	return providers.Target{ID: "nomad:" + hostPort + "/" + cl.region, Description: desc}
}

// Target implements providers.Provider: the cluster's address and the
// region the instance acts in (see targetOf), from /v1/agent/self once.
func (p *provider) Target(ctx context.Context) (providers.Target, error) {
	cl, err := p.cluster(ctx)
	if err != nil {
		return providers.Target{}, err
	}
	return cl.target, nil
}

// home is where a token lives: the authoritative region for a global
// token, the instance's region for a local one.
func (p *provider) home(ctx context.Context, global bool) (region, authoritative string, err error) {
	cl, err := p.cluster(ctx)
	if err != nil {
		return "", "", err
	}
	if !global {
		return cl.region, cl.authoritative, nil
	}
	if cl.authoritative == "" {
		return "", "", providers.InvalidField(fieldGlobal, "needs the ACL authoritative region, where Nomad creates and deletes global tokens, but the agent at %s is not a server and its config names no server.authoritative_region; point address at a Nomad server", p.s.address)
	}
	return cl.authoritative, cl.authoritative, nil
}

func (p *provider) queryOpts(ctx context.Context, region string) *api.QueryOptions {
	return (&api.QueryOptions{Region: region}).WithContext(ctx)
}

func (p *provider) writeOpts(ctx context.Context, region string) *api.WriteOptions {
	return (&api.WriteOptions{Region: region}).WithContext(ctx)
}
