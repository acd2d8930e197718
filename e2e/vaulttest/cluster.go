package vaulttest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// voterTimeout bounds the wait for autopilot to promote joined nodes to
// voters (about 10 s after they join: server_stabilization_time).
const voterTimeout = 90 * time.Second

// Cluster is a Vault cluster of Raft nodes on loopback ports: the first
// node is initialised, the others join it with retry_join and are unsealed
// with the same key.
type Cluster struct {
	// Nodes are the cluster's servers, in the order they were started.
	Nodes []*Server
}

// StartCluster starts n Raft nodes (n >= 1) that know each other through
// retry_join, initialises the first, unseals all of them, and waits until
// one is active and `vault operator raft list-peers` shows every node as a
// voter: before that, killing the leader leaves no quorum to elect a new
// one. Every node gets opts (so each has its own plugin directory with
// opts.Plugins installed). The nodes are stopped when t ends.
func StartCluster(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("vaulttest: a cluster needs at least one node, not %d", n)
	}
	ports := freePorts(t, 2*n)
	c := &Cluster{}
	for i := range n {
		s := newServer(t, Raft, opts)
		s.port = ports[2*i]
		s.raft = &raftNode{nodeID: "node" + strconv.Itoa(i+1), clusterPort: ports[2*i+1], inCluster: true}
		for j := range n {
			if j != i {
				s.raft.peers = append(s.raft.peers, "http://127.0.0.1:"+strconv.Itoa(ports[2*j]))
			}
		}
		c.Nodes = append(c.Nodes, s)
	}
	first := c.Nodes[0]
	first.launch(t)
	first.initialize(t)
	first.unseal(t)
	first.waitActive(t)
	for _, s := range c.Nodes[1:] {
		s.token, s.unsealKey = first.token, first.unsealKey
		s.log.addSecret(s.token, s.unsealKey)
		s.launch(t)
		// A joining node fetches the leader's challenge, which only the
		// unseal key opens: unsealing it completes the join.
		s.waitJoinAndUnseal(t)
	}
	c.WaitVoters(t)
	return c
}

// waitJoinAndUnseal unseals a node that is joining with retry_join. The
// unseal call fails until the node has found the leader, so it is retried.
func (s *Server) waitJoinAndUnseal(t testing.TB) {
	t.Helper()
	c, err := s.newClient("")
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	c.SetMaxRetries(0)
	deadline := time.Now().Add(s.opts.StartTimeout)
	var last error
	for time.Now().Before(deadline) {
		st, err := c.Sys().Unseal(s.unsealKey)
		if err == nil && !st.Sealed {
			s.waitUnsealed(t)
			return
		}
		last = err
		if !s.Running() {
			t.Fatalf("vaulttest: %s exited while joining; log tail:\n%s", s.NodeID(), s.LogTail(20))
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("vaulttest: %s did not join and unseal within %s: %v", s.NodeID(), s.opts.StartTimeout, last)
}

// WaitVoters waits until `vault operator raft list-peers`, asked of the
// active node, lists every running node of the cluster as a voter.
func (c *Cluster) WaitVoters(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(voterTimeout)
	var last string
	for time.Now().Before(deadline) {
		if active := c.activeNode(); active != nil {
			peers, err := active.RaftPeers(t)
			if err == nil {
				if missing := c.nonVoters(peers); len(missing) == 0 {
					return
				} else {
					last = "not yet voters: " + strings.Join(missing, ", ")
				}
			} else {
				last = err.Error()
			}
		} else {
			last = "no active node"
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("vaulttest: cluster not all voters within %s: %s", voterTimeout, last)
}

// nonVoters names the running nodes that peers does not list as voters.
func (c *Cluster) nonVoters(peers []RaftPeer) []string {
	voter := map[string]bool{}
	for _, p := range peers {
		voter[p.NodeID] = p.Voter
	}
	var missing []string
	for _, s := range c.Nodes {
		if s.Running() && !voter[s.NodeID()] {
			missing = append(missing, s.NodeID())
		}
	}
	return missing
}

// activeNode returns the running node that reports itself active, or nil.
func (c *Cluster) activeNode() *Server {
	for _, s := range c.Nodes {
		if s.IsActive() {
			return s
		}
	}
	return nil
}

// Active waits until a running node is active and returns it.
func (c *Cluster) Active(t testing.TB) *Server {
	t.Helper()
	return c.WaitActive(t, time.Minute)
}

// WaitActive waits up to timeout for a running node to become active and
// returns it.
func (c *Cluster) WaitActive(t testing.TB, timeout time.Duration) *Server {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s := c.activeNode(); s != nil {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("vaulttest: no active node within %s", timeout)
	return nil
}

// Standbys returns the running nodes that answer as unsealed standbys.
func (c *Cluster) Standbys(t testing.TB) []*Server {
	t.Helper()
	var out []*Server
	for _, s := range c.Nodes {
		if !s.Running() {
			continue
		}
		if h, err := s.health(); err == nil && h.Initialized && !h.Sealed && h.Standby {
			out = append(out, s)
		}
	}
	return out
}

// String lists the nodes and their addresses, for test logs.
func (c *Cluster) String() string {
	var parts []string
	for _, s := range c.Nodes {
		parts = append(parts, fmt.Sprintf("%s=%s", s.NodeID(), s.Addr()))
	}
	return strings.Join(parts, " ")
}
