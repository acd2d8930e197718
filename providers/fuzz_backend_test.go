package providers_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// roleFieldNames are the names of every role field any driver declares,
// plus the common ones, which a 400 about a role must name.
func roleFieldNames() []string {
	names := []string{"ttl", "max_ttl", "credential_type", "name", "provider"}
	reg := fuzzRegistry()
	for _, name := range reg.Names() {
		d, _ := reg.Driver(name)
		for _, ct := range d.Info().CredentialTypes {
			for _, f := range ct.RoleFields {
				names = append(names, f.Name)
			}
		}
	}
	return names
}

// FuzzRoleFields writes roles/<provider>/<name> with an arbitrary JSON
// object through the backend's request handling (plugin/fields.go, then
// the driver's role validation against its emulated cloud). The backend
// must never panic; it accepts the role, or answers a 400 (or another
// 4xx) that names a field — never a 5xx, never a root secret. An accepted
// role reads back, and writing back what was read is accepted and reads
// back the same. No cloud object is made.
func FuzzRoleFields(f *testing.F) {
	for _, s := range []struct {
		cloud uint8
		body  string
	}{
		{0, `{"credential_type":"iam_user","policy_arns":["arn:aws:iam::aws:policy/ReadOnlyAccess"],"ttl":"1h","max_ttl":"2h"}`},
		{0, `{"credential_type":"iam_user","iam_tags":["team=ci","x"],"user_path":"/vault/","permissions_boundary_arn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}`},
		{0, `{"credential_type":"assumed_role","role_arns":"arn:aws:iam::123456789012:role/x","ttl":900}`},
		{0, `{"credential_type":"iam_user","policy_document":"{\"Version\":\"2012-10-17\"}","wait_until_usable":"yes"}`},
		{1, `{"credential_type":"sub_account","policies":"NCP_INFRA_MANAGER,NCP_VPC_MANAGER","login_id_template":"v-{{.Role}}-{{.ID}}"}`},
		{1, `{"credential_type":"sts","ttl":"15m","max_ttl":"1h"}`},
		{2, `{"policies":["ro"],"type":"client","global":true,"expiration_ttl":"10m"}`},
		{2, `{"type":"management","policies":"ro","unknown_field":1}`},
		{2, `{"ttl":-1,"max_ttl":"x"}`},
	} {
		f.Add(s.cloud, []byte(s.body))
	}
	fc := startFuzzClouds(f)
	known := roleFieldNames()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) { checkRoleFields(t, fc, known, which, body) })
}

// checkRoleFields is one input of FuzzRoleFields.
func checkRoleFields(t *testing.T, fc *fuzzClouds, known []string, which uint8, body []byte) {
	{
		var data map[string]any
		if json.Unmarshal(body, &data) != nil || data == nil {
			return
		}
		cl := fc.pick(which)
		b := fc.backend(t)
		before := maps.Clone(cl.state())
		path := "roles/" + cl.name + "/fz"
		resp, err, took := do(b, &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: data})
		fc.requireNoRoot(t, resp, err)
		if took > fuzzCall {
			t.Fatalf("role write took %s", took)
		}
		if err != nil {
			var ce logical.HTTPCodedError
			if !errors.As(err, &ce) || ce.Code() >= 500 {
				t.Fatalf("role write failed with a 5xx or an uncoded error (Vault answers 500): %v", err)
			}
			return
		}
		if resp != nil && resp.IsError() {
			msg := resp.Error().Error()
			named := false
			for _, k := range append(known, keys(data)...) {
				if k != "" && strings.Contains(msg, k) {
					named = true
					break
				}
			}
			if !named {
				t.Fatalf("a 400 that names no field: %q", msg)
			}
			if !maps.Equal(before, cl.state()) {
				t.Fatalf("a refused role write changed the cloud: %v -> %v", before, cl.state())
			}
			return
		}
		first := readRole(t, b, path)
		resp, err, _ = do(b, &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: first})
		if err != nil || (resp != nil && resp.IsError()) {
			t.Fatalf("writing back what was read is refused: %v %v (read %v)", err, resp.Error(), first)
		}
		if second := readRole(t, b, path); !reflect.DeepEqual(first, second) {
			t.Fatalf("a role does not read back the same after writing back what was read:\n%v\n%v", first, second)
		}
		if !maps.Equal(before, cl.state()) {
			t.Fatalf("a role write changed the cloud: %v -> %v", before, cl.state())
		}
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// readRole reads a role and returns its data as it would be sent back
// (through JSON, as the HTTP API carries it).
func readRole(t *testing.T, b interface {
	Do(logical.Operation, string, map[string]any) (*logical.Response, error)
}, path string) map[string]any {
	t.Helper()
	resp, err := b.Do(logical.ReadOperation, path, nil)
	if err != nil || resp == nil || resp.IsError() {
		t.Fatalf("an accepted role does not read back: %v %v", err, resp)
	}
	buf, err := json.Marshal(resp.Data)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(buf, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzLeaseInternalData sends revoke and renew requests carrying arbitrary
// lease internal data, as Vault's expiration manager sends them (after a
// JSON round trip), seeded with the internal data of real leases of each
// provider. The backend must never panic, must answer within the bound, a
// revoke that fails must return an error (an error response with a nil
// error makes Vault retry without saying why), and no answer may carry a
// root secret.
func FuzzLeaseInternalData(f *testing.F) {
	fc := startFuzzClouds(f)
	for _, seed := range fc.seedLeases(f) {
		f.Add(false, seed)
		f.Add(true, seed)
	}
	f.Add(false, []byte(`{"version":1,"provider":"nomad","driver":"aws","data":"{}"}`))
	f.Add(false, []byte(`{"version":99,"provider":"aws"}`))
	f.Add(true, []byte(`{"version":1,"provider":"ncloud","driver":"ncloud","credential_type":"sub_account","expires_at":-1,"data":"{\"sub_account_id\":\"x\"}"}`))
	f.Fuzz(func(t *testing.T, renew bool, raw []byte) {
		var internal map[string]any
		if json.Unmarshal(raw, &internal) != nil || internal == nil {
			return
		}
		b := fc.backend(t)
		secret := &logical.Secret{InternalData: internal, LeaseOptions: logical.LeaseOptions{
			TTL: time.Hour, Renewable: true, IssueTime: time.Now().Add(-time.Minute), Increment: 30 * time.Minute}}
		buf, err := json.Marshal(secret)
		if err != nil {
			return
		}
		var sent logical.Secret
		if err := json.Unmarshal(buf, &sent); err != nil {
			return
		}
		op := logical.RevokeOperation
		if renew {
			op = logical.RenewOperation
		}
		resp, err, took := do(b, &logical.Request{Operation: op, Secret: &sent})
		fc.requireNoRoot(t, resp, err)
		if took > fuzzCall {
			t.Fatalf("%s took %s", op, took)
		}
		if op == logical.RevokeOperation && err == nil && resp != nil && resp.IsError() {
			t.Fatalf("revoke answered an error response without an error: %v", resp.Error())
		}
	})
}

// FuzzWALRollback puts an arbitrary WAL entry (kind and JSON data) into the
// mount's storage, seeded with the entries real creates of each provider
// write, and runs Vault's rollback on it. The backend must never panic,
// must answer within the bound, must report an error whenever it keeps the
// entry (success deletes it), and no answer may carry a root secret.
func FuzzWALRollback(f *testing.F) {
	fc := startFuzzClouds(f)
	kinds, data := fc.seedWALs(f)
	for i := range kinds {
		f.Add(kinds[i], data[i])
	}
	f.Add("create", []byte(`{"provider":"aws","driver":"nomad","role":"r","intent":"{\"token_name\":\"x\"}"}`))
	f.Add("create", []byte(`{"provider":"gone","driver":"aws","role":"r","intent":"{}"}`))
	f.Add("create", []byte(`"not an object"`))
	f.Add("unknown-kind", []byte(`{}`))
	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return
		}
		b := fc.backend(t)
		if _, err := framework.PutWAL(context.Background(), b.Storage, kind, v); err != nil {
			return
		}
		resp, err, took := do(b, &logical.Request{Operation: logical.RollbackOperation, Data: map[string]any{"immediate": true}})
		fc.requireNoRoot(t, resp, err)
		if took > fuzzCall {
			t.Fatalf("rollback took %s", took)
		}
		ids, lerr := framework.ListWAL(context.Background(), b.Storage)
		if lerr != nil {
			t.Fatal(lerr)
		}
		if len(ids) > 0 && err == nil && (resp == nil || !resp.IsError()) {
			t.Fatalf("the rollback kept the entry without reporting an error")
		}
		if len(ids) > 1 {
			t.Fatalf("the rollback left %d WAL entries from one", len(ids))
		}
	})
}
