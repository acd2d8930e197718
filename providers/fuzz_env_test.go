package providers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// fuzzCall bounds one request of a fuzz input; the clouds are local.
const fuzzCall = 30 * time.Second

// fuzzCloud is one provider instance of the fuzz targets: its emulator,
// config and a valid role "r".
type fuzzCloud struct {
	name   string
	core   *emulator.Core
	state  func() map[string]int
	config map[string]any
	role   map[string]any
	root   string // the root secret, which no answer may contain
	// createStep is the first mutating call of a create (held to catch
	// its WAL entry).
	createStep string
}

// fuzzClouds are the three emulated clouds one fuzz process shares; each
// input gets a fresh backend on them.
type fuzzClouds struct {
	all []*fuzzCloud
}

// startFuzzClouds starts the emulators with the fixtures the roles need.
// Call it before f.Fuzz.
func startFuzzClouds(f testing.TB) *fuzzClouds {
	f.Helper()
	at := awstest.Start(f, awstest.Options{})
	nt := ncloudtest.Start(f, ncloudtest.Options{})
	mt := nomadtest.Start(f, nomadtest.Options{})
	c, err := api.NewClient(&api.Config{Address: mt.URL, SecretID: mt.RootToken()})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := c.ACLPolicies().Upsert(&api.ACLPolicy{Name: "ro", Rules: `namespace "default" { policy = "read" }`}, nil); err != nil {
		f.Fatal(err)
	}
	ak, sk := at.RootCredentials()
	nak, nsk := nt.RootCredentials()
	fc := &fuzzClouds{all: []*fuzzCloud{
		{name: "aws", core: at.Core(), state: at.State, root: sk, createStep: "CreateUser",
			config: map[string]any{"access_key": ak, "secret_key": sk, "region": "us-east-1", "iam_endpoint": at.URL, "sts_endpoint": at.URL},
			role: map[string]any{"credential_type": "iam_user", "policy_arns": "arn:aws:iam::aws:policy/ReadOnlyAccess",
				"policy_document": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`}},
		{name: "ncloud", core: nt.Core(), state: nt.State, root: nsk, createStep: "CreateSubAccount",
			config: map[string]any{"access_key": nak, "secret_key": nsk, "sts_endpoint": nt.URL, "subaccount_endpoint": nt.URL},
			role:   map[string]any{"credential_type": "sub_account", "policies": "NCP_INFRA_MANAGER"}},
		{name: "nomad", core: mt.Core(), state: mt.State, root: mt.RootToken(), createStep: "TokenCreate",
			config: map[string]any{"address": mt.URL, "token": mt.RootToken()},
			role:   map[string]any{"policies": "ro"}},
	}}
	for _, cl := range fc.all {
		core := cl.core
		f.Cleanup(func() { core.ReleaseHolds(emulator.None) })
	}
	return fc
}

// pick returns the cloud an input byte selects.
func (fc *fuzzClouds) pick(b uint8) *fuzzCloud { return fc.all[int(b)%len(fc.all)] }

func fuzzRegistry() *providers.Registry {
	return providers.MustRegistry(aws.New(), ncloud.New(), nomad.New())
}

// backend returns a fresh backend with every provider configured and its
// role "r" written.
func (fc *fuzzClouds) backend(t testing.TB, opts ...plugintest.Option) *plugintest.Backend {
	t.Helper()
	b := plugintest.New(t, fuzzRegistry(), opts...)
	for _, cl := range fc.all {
		b.OK(logical.UpdateOperation, "config/"+cl.name, cl.config)
		b.OK(logical.UpdateOperation, "roles/"+cl.name+"/r", cl.role)
	}
	return b
}

// do sends one request with a deadline and reports how long it took.
func do(b *plugintest.Backend, req *logical.Request) (*logical.Response, error, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), fuzzCall)
	defer cancel()
	req.Storage = b.Storage
	start := time.Now()
	resp, err := b.B.HandleRequest(ctx, req)
	return resp, err, time.Since(start)
}

// requireNoRoot fails if an answer carries a root secret.
func (fc *fuzzClouds) requireNoRoot(t *testing.T, resp *logical.Response, err error) {
	t.Helper()
	var text []string
	if err != nil {
		text = append(text, err.Error())
	}
	if resp != nil {
		if resp.IsError() {
			text = append(text, resp.Error().Error())
		}
		if buf, merr := json.Marshal(resp.Data); merr == nil {
			text = append(text, string(buf))
		}
		text = append(text, resp.Warnings...)
	}
	for _, cl := range fc.all {
		for _, s := range text {
			if strings.Contains(s, cl.root) {
				t.Fatalf("an answer carries the root secret of %s", cl.name)
			}
		}
	}
}

// seedLeases issues one credential per provider and returns each lease's
// internal data as JSON, as Vault stores it.
func (fc *fuzzClouds) seedLeases(f *testing.F) [][]byte {
	f.Helper()
	b := fc.backend(f)
	var out [][]byte
	for _, cl := range fc.all {
		resp := b.OK(logical.ReadOperation, "creds/"+cl.name+"/r", nil)
		buf, err := json.Marshal(resp.Secret.InternalData)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, buf)
	}
	return out
}

// seedWALs catches the WAL entry of one create per provider, written
// before the first cloud call (held until then), and returns each entry's
// kind and data as JSON. The held call is then dropped, so the create
// fails and cleans up.
func (fc *fuzzClouds) seedWALs(f *testing.F) (kinds []string, data [][]byte) {
	f.Helper()
	b := fc.backend(f)
	for _, cl := range fc.all {
		h := cl.core.Hold(emulator.HoldSpec{Action: cl.createStep, Stage: emulator.BeforeEffect, Timeout: fuzzCall})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = b.B.HandleRequest(context.Background(), &logical.Request{Operation: logical.ReadOperation,
				Path: "creds/" + cl.name + "/r", Storage: b.Storage, DisplayName: plugintest.DefaultDisplayName})
		}()
		ctx, cancel := context.WithTimeout(context.Background(), fuzzCall)
		if err := h.Wait(ctx, 1); err != nil {
			f.Fatal(err)
		}
		cancel()
		ids, err := framework.ListWAL(context.Background(), b.Storage)
		if err != nil || len(ids) != 1 {
			f.Fatalf("%s: want one WAL entry while the create is held, got %v (%v)", cl.name, ids, err)
		}
		e, err := framework.GetWAL(context.Background(), b.Storage, ids[0])
		if err != nil || e == nil {
			f.Fatalf("%s: reading the WAL entry: %v", cl.name, err)
		}
		buf, err := json.Marshal(e.Data)
		if err != nil {
			f.Fatal(err)
		}
		kinds, data = append(kinds, e.Kind), append(data, buf)
		h.Release(emulator.Drop)
		<-done
	}
	return kinds, data
}
