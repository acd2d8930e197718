package nomadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// Cloud describes the Nomad emulator to the programs that run every cloud
// (see emulator.Cloud).
var Cloud emulator.Cloud = cloud{}

type cloud struct{}

func (cloud) Name() string          { return "nomad" }
func (cloud) Title() string         { return "ACL" }
func (cloud) EnvPrefixes() []string { return []string{"NOMAD_"} }

// readonlyPolicy is the ACL policy the roles of Roles name; New makes it.
const readonlyPolicy = "readonly"

// New builds an emulator with the "readonly" ACL policy (read access to the
// default namespace); it takes no options.
func (cloud) New(opts map[string]string) (emulator.Instance, error) {
	for k := range opts {
		return nil, fmt.Errorf("nomad: unknown option %q (it takes none)", k)
	}
	s := New(Options{})
	// Through the emulator's own API, as an operator would.
	body := `{"Name":"` + readonlyPolicy + `","Rules":"namespace \"default\" { policy = \"read\" }"}`
	req := httptest.NewRequest(http.MethodPut, "/v1/acl/policy/"+readonlyPolicy, strings.NewReader(body))
	req.Header.Set("X-Nomad-Token", s.RootToken())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("nomad: create the %s policy: %d %s", readonlyPolicy, rec.Code, rec.Body.String())
	}
	return s, nil
}

// Use reads the issued token itself (GET /v1/acl/token/self), which
// answers only to its secret.
func (cloud) Use(config, data map[string]any) error {
	addr, _ := config["address"].(string)
	secret, _ := data["secret_id"].(string)
	req, err := http.NewRequest(http.MethodGet, addr+"/v1/acl/token/self", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Nomad-Token", secret)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("token self with the issued token: %d %s", resp.StatusCode, body)
	}
	var self struct{ AccessorID string }
	if err := json.Unmarshal(body, &self); err != nil {
		return err
	}
	if want, _ := data["accessor_id"].(string); self.AccessorID != want {
		return fmt.Errorf("the issued token reads as accessor %s, not %s", self.AccessorID, want)
	}
	return nil
}

// Config is the nomad driver's config for this emulator served at url.
func (s *Server) Config(url string) map[string]any {
	return map[string]any{"address": url, "token": s.RootToken()}
}

// Roles are the roles the demo, the e2e tests, the reliability tests and
// the benchmark issue.
func (s *Server) Roles() []emulator.Role {
	return []emulator.Role{{
		Name:      "ci",
		Title:     "a client token with an ACL policy (and a Nomad-side expiry as a safety net)",
		Fields:    map[string]any{"policies": readonlyPolicy, "expiration_ttl": "1h", "ttl": "10m", "max_ttl": "1h"},
		Revocable: true,
	}}
}

// ObjectKind is "tokens": a credential is one ACL token.
func (s *Server) ObjectKind() string { return "tokens" }

// ObjectNames are the accessor ids of the tokens of every region (as
// State counts them), the bootstrap token included, sorted.
func (s *Server) ObjectNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	seen := map[string]bool{}
	var out []string
	for _, rg := range s.regions {
		for a := range rg.tokens {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// HasObject reports whether the token with accessor id name exists.
func (s *Server) HasObject(name string) bool { _, ok := s.Token(name); return ok }

// CredFields are accessor_id and secret_id.
func (s *Server) CredFields() (object, secret string) { return "accessor_id", "secret_id" }

// CreateAction is TokenCreate.
func (s *Server) CreateAction() string { return "TokenCreate" }

// DeleteAction is TokenDelete.
func (s *Server) DeleteAction() string { return "TokenDelete" }

// ObjectLimit is 0: the emulator enforces no limit on the number of
// tokens.
func (s *Server) ObjectLimit() int { return 0 }
