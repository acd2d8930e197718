package vaulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Raft is a server on integrated Raft storage (storage "raft"), the
// storage production Vault runs on: a single node (StartRaft) or a node of
// a cluster (StartCluster). It listens on a loopback API port and a
// loopback cluster port, is initialised with one key share and unsealed by
// the harness, and survives Crash and Restart with its data.
const Raft Mode = Persistent + 1

// raftPerformanceMultiplier scales Raft's timeouts; 1 is what Vault
// recommends for production (the default, 5, is for slow development
// machines) and makes a new leader come up within seconds.
const raftPerformanceMultiplier = 1

// raftNode is the Raft part of a server.
type raftNode struct {
	nodeID      string
	clusterPort int
	peers       []string // API addresses of the other nodes, for retry_join
	inCluster   bool
}

// StartRaft starts a single node on integrated Raft storage, initialises it
// with one key share, unseals it and waits until it is active. Crash and
// Restart keep its data. The server is stopped when t ends.
func StartRaft(t testing.TB, opts Options) *Server {
	t.Helper()
	s := newServer(t, Raft, opts)
	ports := freePorts(t, 2)
	s.port = ports[0]
	s.raft = &raftNode{nodeID: "node1", clusterPort: ports[1]}
	s.launch(t)
	s.initialize(t)
	s.unseal(t)
	s.waitActive(t)
	return s
}

// raftArgs writes the configuration of a Raft node.
func (s *Server) raftArgs() ([]string, error) {
	addr := "127.0.0.1:" + strconv.Itoa(s.port)
	clusterAddr := "127.0.0.1:" + strconv.Itoa(s.raft.clusterPort)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "disable_mlock = true\n")
	fmt.Fprintf(&cfg, "plugin_directory = %q\n", s.pluginDir)
	fmt.Fprintf(&cfg, "api_addr = %q\n", "http://"+addr)
	fmt.Fprintf(&cfg, "cluster_addr = %q\n", "https://"+clusterAddr)
	if s.opts.RawStorageEndpoint {
		fmt.Fprintf(&cfg, "raw_storage_endpoint = true\n")
	}
	fmt.Fprintf(&cfg, "storage \"raft\" {\n  path = %q\n  node_id = %q\n  performance_multiplier = %d\n",
		s.dataDir, s.raft.nodeID, raftPerformanceMultiplier)
	for _, peer := range s.raft.peers {
		fmt.Fprintf(&cfg, "  retry_join {\n    leader_api_addr = %q\n  }\n", peer)
	}
	cfg.WriteString("}\n")
	fmt.Fprintf(&cfg, "listener \"tcp\" {\n  address = %q\n  cluster_address = %q\n  tls_disable = true\n}\n", addr, clusterAddr)
	cfgPath := filepath.Join(s.dir, "vault.hcl")
	args := []string{"server", "-log-level=" + s.opts.LogLevel, "-config=" + cfgPath}
	return args, os.WriteFile(cfgPath, []byte(cfg.String()), 0o600)
}

// NodeID is the Raft node id of a Raft server ("" for other modes).
func (s *Server) NodeID() string {
	if s.raft == nil {
		return ""
	}
	return s.raft.nodeID
}

// Crash SIGKILLs the server and every plugin process it started, at once,
// as a machine or container dying would, and waits until they are gone.
// Restart brings a Persistent or Raft server back on its data.
func (s *Server) Crash(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		t.Fatalf("vaulttest: Crash: the server is not running")
	}
	_ = killGroup(p.cmd.Process)
	<-p.done
}

// Running reports whether the server's process is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return false
	}
	select {
	case <-s.proc.done:
		return false
	default:
		return true
	}
}

// waitReady waits until the server serves: active, or for a node of a
// cluster, unsealed as active node or standby.
func (s *Server) waitReady(t testing.TB) {
	t.Helper()
	if s.raft != nil && s.raft.inCluster {
		s.waitUnsealed(t)
		return
	}
	s.waitActive(t)
}

// waitUnsealed polls sys/health until the server is initialised and
// unsealed, active or standby.
func (s *Server) waitUnsealed(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(s.opts.StartTimeout)
	var last string
	for time.Now().Before(deadline) {
		h, err := s.health()
		switch {
		case err != nil:
			last = err.Error()
		case h.Initialized && !h.Sealed:
			return
		default:
			last = fmt.Sprintf("initialized=%v sealed=%v", h.Initialized, h.Sealed)
		}
		if !s.Running() {
			t.Fatalf("vaulttest: vault exited while waiting to be unsealed; log tail:\n%s", s.LogTail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("vaulttest: %s server %s not unsealed within %s: %s", s.mode, s.NodeID(), s.opts.StartTimeout, last)
}

// Health is the part of sys/health the harness looks at.
type Health struct {
	Initialized, Sealed, Standby bool
}

// health asks sys/health once, without retries, within 2 seconds.
func (s *Server) health() (Health, error) {
	c, err := s.newClient("")
	if err != nil {
		return Health{}, err
	}
	c.SetMaxRetries(0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h, err := c.Sys().HealthWithContext(ctx)
	if err != nil {
		return Health{}, err
	}
	return Health{Initialized: h.Initialized, Sealed: h.Sealed, Standby: h.Standby}, nil
}

// IsActive reports whether the server answers sys/health as the active,
// unsealed node.
func (s *Server) IsActive() bool {
	if !s.Running() {
		return false
	}
	h, err := s.health()
	return err == nil && h.Initialized && !h.Sealed && !h.Standby
}

// RaftPeer is one server of `vault operator raft list-peers`.
type RaftPeer struct {
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
	Leader  bool   `json:"leader"`
	Voter   bool   `json:"voter"`
}

// RaftPeers runs `vault operator raft list-peers -format=json` against the
// server and returns the peers it lists.
func (s *Server) RaftPeers(t testing.TB) ([]RaftPeer, error) {
	t.Helper()
	res := s.CLI(t, "operator", "raft", "list-peers", "-format=json")
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("vault operator raft list-peers exited %d: %s", res.ExitCode, strings.TrimSpace(res.Stderr))
	}
	var out struct {
		Data struct {
			Config struct {
				Servers []RaftPeer `json:"servers"`
			} `json:"config"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		return nil, fmt.Errorf("decoding list-peers output: %w", err)
	}
	return out.Data.Config.Servers, nil
}

// freePorts returns n distinct free loopback ports.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p := freePort(t)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
