package nomad_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// recorder serves next (or 404s) and records the credentials of every
// request it receives.
type recorder struct {
	next http.Handler

	mu     sync.Mutex
	tokens []string // X-Nomad-Token or Authorization of each request
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.tokens = append(r.tokens, req.Header.Get("X-Nomad-Token")+req.Header.Get("Authorization"))
	r.mu.Unlock()
	if r.next == nil {
		http.NotFound(w, req)
		return
	}
	r.next.ServeHTTP(w, req)
}

// seen returns the credentials received, one per request ("" for none).
func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

// Vault's NOMAD_TOKEN goes only to NOMAD_ADDR (a config without address)
// or where use_ambient_credentials=true says; a config naming another
// address without a token sends no token anywhere.
func TestAmbientTokenStaysWithItsAddress(t *testing.T) {
	ts := nomadtest.Start(t, nomadtest.Options{})
	root := ts.RootToken()

	cases := []struct {
		name string
		// where NOMAD_ADDR points: the emulator or a bystander
		envAddrIsNomad bool
		config         map[string]any // "address" is set to the emulator when present as ""
		ok             bool
		wantErr        string
		// what the emulator may receive: the env token, or only the config's
		nomadSeesEnvToken bool
	}{
		{name: "config address, no token: refused, nothing sent", config: map[string]any{"address": ""},
			wantErr: "use_ambient_credentials=true"},
		{name: "config address, no token, use_ambient_credentials", config: map[string]any{"address": "", "use_ambient_credentials": true},
			ok: true, nomadSeesEnvToken: true},
		{name: "no address, no token: the environment's pair", envAddrIsNomad: true, config: map[string]any{},
			ok: true, nomadSeesEnvToken: true},
		{name: "config address and token: the environment's token is not used", config: map[string]any{"address": "", "token": "config"},
			ok: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nomad := &recorder{next: ts}
			bystander := &recorder{}
			nomadURL, bystanderURL := serve(t, nomad), serve(t, bystander)
			envToken := root // a token the emulator accepts, so a leak would even work
			env := map[string]string{"NOMAD_TOKEN": envToken, "NOMAD_ADDR": bystanderURL}
			if tc.envAddrIsNomad {
				env["NOMAD_ADDR"] = nomadURL
			}
			b := newBackend(t)
			b.Restart(registry(func(k string) string { return env[k] }))

			data := map[string]any{}
			for k, v := range tc.config {
				data[k] = v
			}
			if _, ok := data["address"]; ok {
				data["address"] = nomadURL
			}
			if data["token"] == "config" {
				// The config's own token: another management token.
				tok, _, err := nomadClient(t, ts.URL, root).ACLTokens().Create(managementToken(), nil)
				require.NoError(t, err)
				data["token"] = tok.SecretID
			}
			if tc.ok {
				b.OK(logical.UpdateOperation, "config/nomad", data)
			} else {
				b.BadRequest(logical.UpdateOperation, "config/nomad", data, "token", tc.wantErr)
			}

			require.Empty(t, bystander.seen(), "nothing is sent to NOMAD_ADDR unless it is the address")
			for _, got := range nomad.seen() {
				if !tc.nomadSeesEnvToken {
					require.NotContains(t, got, envToken, "NOMAD_TOKEN sent to an address from the config")
				}
			}
			if !tc.ok {
				require.Empty(t, nomad.seen(), "a refused config calls nobody")
			} else {
				require.NotEmpty(t, nomad.seen())
			}
		})
	}
}
