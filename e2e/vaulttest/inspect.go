package vaulttest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

// EnableFileAudit enables a file audit device at "file/" that writes to
// audit.log in the server's directory, and returns that path. Vault HMACs
// the secret values of requests and responses in it; tests scan it for
// secrets that got through anyway.
func (s *Server) EnableFileAudit(t testing.TB) string {
	t.Helper()
	path := filepath.Join(s.dir, "audit.log")
	err := s.Client(t).Sys().EnableAuditWithOptionsWithContext(context.Background(), "file", &api.EnableAuditOptions{
		Type:    "file",
		Options: map[string]string{"file_path": path},
	})
	if err != nil {
		t.Fatalf("vaulttest: enabling the file audit device: %v", err)
	}
	return path
}

// MountUUID returns the uuid of a mount, which names its storage
// (logical/<uuid>/).
func (s *Server) MountUUID(t testing.TB, mount string) string {
	t.Helper()
	m, err := s.Client(t).Sys().GetMountWithContext(context.Background(), cleanMount(mount))
	if err != nil {
		t.Fatalf("vaulttest: reading mount %s: %v", mount, err)
	}
	if m.UUID == "" {
		t.Fatalf("vaulttest: mount %s has no uuid", mount)
	}
	return m.UUID
}

// MountStorage returns every storage entry of a mount, as the plugin wrote
// it (key relative to the mount's storage → value), read through sys/raw
// below Vault's barrier encryption. The server needs
// Options.RawStorageEndpoint.
func (s *Server) MountStorage(t testing.TB, mount string) map[string][]byte {
	t.Helper()
	root := "logical/" + s.MountUUID(t, mount) + "/"
	out := map[string][]byte{}
	for _, key := range s.RawKeys(t, root) {
		if v := s.RawGet(t, root+key); v != nil {
			out[key] = v
		}
	}
	return out
}

// MountStorageKeys lists the storage keys of a mount under prefix ("" for
// all, "wal/" for the WAL), recursively, through sys/raw (needs
// Options.RawStorageEndpoint).
func (s *Server) MountStorageKeys(t testing.TB, mount, prefix string) []string {
	t.Helper()
	root := "logical/" + s.MountUUID(t, mount) + "/"
	var out []string
	for _, k := range s.RawKeys(t, root+prefix) {
		out = append(out, prefix+k)
	}
	return out
}

// RawKeys lists every key below prefix (a barrier path ending in "/",
// e.g. "sys/expire/id/multicloud/"), recursively, relative to prefix,
// through sys/raw (needs Options.RawStorageEndpoint).
func (s *Server) RawKeys(t testing.TB, prefix string) []string {
	t.Helper()
	return s.listAll(t, "sys/raw/"+prefix, "", "(is RawStorageEndpoint set?) ")
}

// listAll lists every key below base+rel, recursively, relative to base.
// hint is added to the failure message.
func (s *Server) listAll(t testing.TB, base, rel, hint string) []string {
	t.Helper()
	c := s.Client(t)
	var out []string
	var walk func(rel string)
	walk = func(rel string) {
		sec, err := c.Logical().List(base + rel)
		if err != nil {
			t.Fatalf("vaulttest: listing %s%s %s: %v", base, rel, hint, err)
		}
		if sec == nil {
			return
		}
		keys, _ := sec.Data["keys"].([]any)
		for _, k := range keys {
			key := rel + fmt.Sprint(k)
			if strings.HasSuffix(key, "/") {
				walk(key)
				continue
			}
			out = append(out, key)
		}
	}
	walk(rel)
	return out
}

// RawGet reads one barrier entry (decrypted, decompressed) through
// sys/raw; nil if there is none.
func (s *Server) RawGet(t testing.TB, path string) []byte {
	t.Helper()
	sec, err := s.Client(t).Logical().ReadWithData("sys/raw/"+path, map[string][]string{"encoding": {"base64"}})
	if err != nil {
		t.Fatalf("vaulttest: reading sys/raw/%s: %v", path, err)
	}
	if sec == nil {
		return nil
	}
	v, ok := sec.Data["value"].(string)
	if !ok {
		t.Fatalf("vaulttest: sys/raw/%s: value is %T, not a string", path, sec.Data["value"])
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("vaulttest: sys/raw/%s: %v", path, err)
	}
	return b
}

// Leases lists the lease ids Vault holds under prefix (e.g.
// "multicloud/creds/aws/"), recursively, through sys/leases/lookup.
func (s *Server) Leases(t testing.TB, prefix string) []string {
	t.Helper()
	return s.listAll(t, "sys/leases/lookup/", strings.TrimSuffix(prefix, "/")+"/", "")
}

// IrrevocableLeases returns how many leases Vault has marked irrevocable
// (sys/leases/count?type=irrevocable).
func (s *Server) IrrevocableLeases(t testing.TB) int {
	t.Helper()
	sec, err := s.Client(t).Logical().ReadWithData("sys/leases/count", map[string][]string{"type": {"irrevocable"}})
	if err != nil {
		t.Fatalf("vaulttest: counting irrevocable leases: %v", err)
	}
	if sec == nil {
		t.Fatalf("vaulttest: sys/leases/count answered nothing")
	}
	n, err := sec.Data["lease_count"].(json.Number).Int64()
	if err != nil {
		t.Fatalf("vaulttest: sys/leases/count: lease_count %v: %v", sec.Data["lease_count"], err)
	}
	return int(n)
}

// AuditLogPath is where EnableFileAudit makes the audit device write.
func (s *Server) AuditLogPath() string { return filepath.Join(s.dir, "audit.log") }
