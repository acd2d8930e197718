package nomadtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/stretchr/testify/require"
)

func TestBootstrap(t *testing.T) {
	t.Run("once when not bootstrapped", func(t *testing.T) {
		ts := Start(t, Options{Bootstrapped: boolPtr(false)})
		require.Empty(t, ts.RootToken())
		require.Equal(t, map[string]int{"tokens": 0, "policies": 0, "roles": 0}, ts.State())
		c := newClient(t, ts, "")

		tok, wm, err := c.ACLTokens().Bootstrap(nil)
		require.NoError(t, err)
		require.Equal(t, "Bootstrap Token", tok.Name)
		require.Equal(t, "management", tok.Type)
		require.True(t, tok.Global)
		require.Nil(t, tok.Policies)
		require.Equal(t, ts.RootToken(), tok.SecretID)
		require.NotZero(t, wm.LastIndex)

		_, _, err = c.ACLTokens().Bootstrap(nil)
		requireAPIError(t, err, 400, fmt.Sprintf("ACL bootstrap already done (reset index: %d)", wm.LastIndex))

		self, _, err := newClient(t, ts, tok.SecretID).ACLTokens().Self(nil)
		require.NoError(t, err)
		require.Equal(t, tok.AccessorID, self.AccessorID)
	})
	t.Run("already done with the fixture", func(t *testing.T) {
		ts := Start(t, Options{})
		require.NotEmpty(t, ts.RootToken())
		require.Equal(t, 1, ts.State()["tokens"])
		_, _, err := newClient(t, ts, "").ACLTokens().Bootstrap(nil)
		requireAPIError(t, err, 400, "ACL bootstrap already done (reset index: 1)")
	})
	t.Run("operator supplied secret", func(t *testing.T) {
		ts := Start(t, Options{Bootstrapped: boolPtr(false)})
		c := newClient(t, ts, "")
		_, _, err := c.ACLTokens().BootstrapOpts("not-a-uuid", nil)
		requireAPIError(t, err, 400, "invalid acl token")
		secret := newUUID()
		tok, _, err := c.ACLTokens().BootstrapOpts(secret, nil)
		require.NoError(t, err)
		require.Equal(t, secret, tok.SecretID)
		require.Equal(t, secret, ts.RootToken())
	})
}

func TestTokenLifecycle(t *testing.T) {
	ts := Start(t, Options{})
	root := newClient(t, ts, ts.RootToken())
	before := ts.State()

	_, err := root.ACLPolicies().Upsert(&api.ACLPolicy{Name: "readonly", Rules: `namespace "default" { policy = "read" }`}, nil)
	require.NoError(t, err)
	role, _, err := root.ACLRoles().Create(&api.ACLRole{Name: "ops", Policies: []*api.ACLRolePolicyLink{{Name: "readonly"}}}, nil)
	require.NoError(t, err)

	tests := []struct {
		name      string
		in        api.ACLToken
		wantRoles []string
	}{
		{"client with policy", api.ACLToken{Name: "vault-a", Type: "client", Policies: []string{"readonly"}}, nil},
		{"client with role by name", api.ACLToken{Name: "vault-b", Type: "client", Roles: []*api.ACLTokenRoleLink{{Name: "ops"}}}, []string{"ops"}},
		{"client with role by id, deduplicated", api.ACLToken{Name: "vault-c", Type: "client", Roles: []*api.ACLTokenRoleLink{{ID: role.ID}, {Name: "ops"}}}, []string{"ops"}},
		{"global client with TTL", api.ACLToken{Name: "vault-d", Type: "client", Policies: []string{"readonly"}, Global: true, ExpirationTTL: time.Hour}, nil},
		{"management", api.ACLToken{Name: "vault-e", Type: "management"}, nil},
		{"unknown policy names are accepted", api.ACLToken{Name: "vault-f", Type: "client", Policies: []string{"nope"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			created, wm, err := root.ACLTokens().Create(&in, nil)
			require.NoError(t, err)
			require.NotEmpty(t, created.AccessorID)
			require.NotEmpty(t, created.SecretID)
			require.Equal(t, wm.LastIndex, created.CreateIndex)
			require.Equal(t, tc.in.Global, created.Global)
			require.Equal(t, tc.in.ExpirationTTL, created.ExpirationTTL)
			if tc.in.ExpirationTTL != 0 {
				require.NotNil(t, created.ExpirationTime)
				require.Equal(t, created.CreateTime.Add(tc.in.ExpirationTTL), *created.ExpirationTime)
			} else {
				require.Nil(t, created.ExpirationTime)
			}
			var gotRoles []string
			for _, l := range created.Roles {
				require.Equal(t, role.ID, l.ID)
				gotRoles = append(gotRoles, l.Name)
			}
			require.Equal(t, tc.wantRoles, gotRoles)

			read, qm, err := root.ACLTokens().Info(created.AccessorID, nil)
			require.NoError(t, err)
			require.Equal(t, created, read)
			require.Equal(t, created.ModifyIndex, qm.LastIndex)
			require.True(t, qm.KnownLeader)

			self, _, err := newClient(t, ts, created.SecretID).ACLTokens().Self(nil)
			require.NoError(t, err)
			require.Equal(t, created, self)

			snap, ok := ts.Token(created.AccessorID)
			require.True(t, ok)
			require.Equal(t, tc.in.Name, snap.Name)
			require.Equal(t, tc.in.Type, snap.Type)
			require.Equal(t, tc.in.Policies, snap.Policies)
			require.Equal(t, tc.wantRoles, snap.Roles)
			require.Equal(t, tc.in.Global, snap.Global)
			byName, ok := ts.TokenByName(tc.in.Name)
			require.True(t, ok)
			require.Equal(t, snap, byName)

			_, err = root.ACLTokens().Delete(created.AccessorID, nil)
			require.NoError(t, err)
			_, err = root.ACLTokens().Delete(created.AccessorID, nil)
			requireAPIError(t, err, 400, "Cannot delete nonexistent tokens: "+created.AccessorID)
			_, _, err = root.ACLTokens().Info(created.AccessorID, nil)
			requireAPIError(t, err, 404, "ACL token not found")
			_, _, err = newClient(t, ts, created.SecretID).ACLTokens().Self(nil)
			requireAPIError(t, err, 403, "Permission denied")
			_, ok = ts.Token(created.AccessorID)
			require.False(t, ok)
		})
	}
	require.Equal(t, before["tokens"], ts.State()["tokens"])
}

func TestTokenUpdate(t *testing.T) {
	ts := Start(t, Options{})
	root := newClient(t, ts, ts.RootToken())
	tok := setupClientToken(t, root, "vault-upd")

	tok.Name = "vault-renamed"
	tok.Roles = nil
	upd, _, err := root.ACLTokens().Update(tok, nil)
	require.NoError(t, err)
	require.Equal(t, "vault-renamed", upd.Name)
	require.Equal(t, tok.SecretID, upd.SecretID)
	require.Equal(t, tok.CreateIndex, upd.CreateIndex)
	require.Greater(t, upd.ModifyIndex, tok.ModifyIndex)

	upd.Global = true
	_, _, err = root.ACLTokens().Update(upd, nil)
	requireAPIError(t, err, 400, "token 0 invalid: 1 error occurred:\n\t* cannot toggle global mode\n\n")

	_, _, err = root.ACLTokens().Update(&api.ACLToken{AccessorID: "nope", Type: "client", Policies: []string{"x"}}, nil)
	requireAPIError(t, err, 400, "cannot find token nope")
}

func TestTokenValidation(t *testing.T) {
	ts := Start(t, Options{})
	root := newClient(t, ts, ts.RootToken())
	_, err := root.ACLPolicies().Upsert(&api.ACLPolicy{Name: "p", Rules: `node { policy = "read" }`}, nil)
	require.NoError(t, err)
	_, _, err = root.ACLRoles().Create(&api.ACLRole{Name: "r", Policies: []*api.ACLRolePolicyLink{{Name: "p"}}}, nil)
	require.NoError(t, err)
	one := func(msg string) string { return "token 0 invalid: 1 error occurred:\n\t* " + msg + "\n\n" }

	tests := []struct {
		name string
		in   api.ACLToken
		body string
	}{
		{"client without policies", api.ACLToken{Name: "x", Type: "client"}, one("client token missing policies or roles")},
		{"management with policies", api.ACLToken{Type: "management", Policies: []string{"p"}}, one("management token cannot be associated with policies or roles")},
		{"management with roles", api.ACLToken{Type: "management", Roles: []*api.ACLTokenRoleLink{{Name: "r"}}}, one("management token cannot be associated with policies or roles")},
		{"empty type", api.ACLToken{Policies: []string{"p"}}, one("token type must be client or management")},
		{"bad type", api.ACLToken{Type: "admin", Policies: []string{"p"}}, one("token type must be client or management")},
		{"name too long", api.ACLToken{Name: strings.Repeat("n", 257), Type: "client", Policies: []string{"p"}}, one("token name too long")},
		{"two errors", api.ACLToken{Name: strings.Repeat("n", 257), Type: "client"}, "token 0 invalid: 2 errors occurred:\n\t* token name too long\n\t* client token missing policies or roles\n\n"},
		{"unknown role by name", api.ACLToken{Type: "client", Roles: []*api.ACLTokenRoleLink{{Name: "ghost"}}}, "cannot find role ghost"},
		{"unknown role by id", api.ACLToken{Type: "client", Roles: []*api.ACLTokenRoleLink{{ID: "0000"}}}, "cannot find role 0000"},
		{"negative TTL", api.ACLToken{Type: "client", Policies: []string{"p"}, ExpirationTTL: -time.Hour},
			"token 0 invalid: 3 errors occurred:\n\t* token expiration TTL '-1h0m0s' should not be negative\n\t* expiration time cannot be before create time\n\t* expiration time cannot be less than 1m0s in the future (was -1h0m0s)\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.State()
			in := tc.in
			_, _, err := root.ACLTokens().Create(&in, nil)
			requireAPIError(t, err, 400, tc.body)
			require.Equal(t, before, ts.State())
		})
	}
	t.Run("name of exactly 256 bytes", func(t *testing.T) {
		_, _, err := root.ACLTokens().Create(&api.ACLToken{Name: strings.Repeat("n", 256), Type: "client", Policies: []string{"p"}}, nil)
		require.NoError(t, err)
	})
}

func TestExpirationBounds(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		ttl      time.Duration
		wantBody string
	}{
		{"below default min", Options{}, 30 * time.Second, "expiration time cannot be less than 1m0s in the future (was 30s)"},
		{"default min inclusive", Options{}, time.Minute, ""},
		{"default max inclusive", Options{}, 24 * time.Hour, ""},
		{"above default max", Options{}, 48 * time.Hour, "expiration time cannot be more than 24h0m0s in the future (was 48h0m0s)"},
		{"just above max", Options{}, 24*time.Hour + time.Nanosecond, "expiration time cannot be more than 24h0m0s in the future (was 24h0m0.000000001s)"},
		{"custom min", Options{MinExpirationTTL: 10 * time.Second}, 10 * time.Second, ""},
		{"custom max", Options{MaxExpirationTTL: time.Hour}, 2 * time.Hour, "expiration time cannot be more than 1h0m0s in the future (was 2h0m0s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := Start(t, tc.opts)
			root := newClient(t, ts, ts.RootToken())
			tok, _, err := root.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"p"}, ExpirationTTL: tc.ttl}, nil)
			if tc.wantBody != "" {
				requireAPIError(t, err, 400, "token 0 invalid: 1 error occurred:\n\t* "+tc.wantBody+"\n\n")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.ttl, tok.ExpirationTTL)
			require.Equal(t, tok.CreateTime.Add(tc.ttl), *tok.ExpirationTime)
		})
	}
}

func TestExpiredSecretRefused(t *testing.T) {
	ts := Start(t, Options{})
	clock := newFakeClock()
	ts.SetClock(clock.Now)
	root := newClient(t, ts, ts.RootToken())

	client, _, err := root.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"p"}, ExpirationTTL: time.Minute}, nil)
	require.NoError(t, err)
	require.Equal(t, clock.Now(), client.CreateTime)
	mgmt, _, err := root.ACLTokens().Create(&api.ACLToken{Type: "management", ExpirationTTL: time.Minute}, nil)
	require.NoError(t, err)

	clock.Advance(time.Minute) // expiry is inclusive of the instant itself
	_, _, err = newClient(t, ts, client.SecretID).ACLTokens().Self(nil)
	require.NoError(t, err)
	_, _, err = newClient(t, ts, mgmt.SecretID).ACLTokens().List(nil)
	require.NoError(t, err)

	clock.Advance(time.Second)
	_, _, err = newClient(t, ts, client.SecretID).ACLTokens().Self(nil)
	requireAPIError(t, err, 500, "ACL token expired")
	_, _, err = newClient(t, ts, client.SecretID).ACLTokens().Info(client.AccessorID, nil)
	requireAPIError(t, err, 500, "ACL token expired")
	_, _, err = newClient(t, ts, mgmt.SecretID).ACLTokens().List(nil)
	requireAPIError(t, err, 403, "Permission denied")
	_, _, err = newClient(t, ts, mgmt.SecretID).ACLTokens().Create(&api.ACLToken{Type: "management"}, nil)
	requireAPIError(t, err, 403, "Permission denied")

	// The token itself still exists and can be read and deleted by accessor.
	read, _, err := root.ACLTokens().Info(client.AccessorID, nil)
	require.NoError(t, err)
	require.Equal(t, client.AccessorID, read.AccessorID)
	_, err = root.ACLTokens().Delete(client.AccessorID, nil)
	require.NoError(t, err)
}

func TestPermissions(t *testing.T) {
	ts := Start(t, Options{})
	root := newClient(t, ts, ts.RootToken())
	client := setupClientToken(t, root, "vault-perm")
	other := setupClientToken(t, root, "vault-other")
	cc := newClient(t, ts, client.SecretID)

	denied := []struct {
		name string
		c    *api.Client
		call func(c *api.Client) error
	}{
		{"anonymous list", newClient(t, ts, ""), func(c *api.Client) error { _, _, err := c.ACLTokens().List(nil); return err }},
		{"unknown secret list", newClient(t, ts, newUUID()), func(c *api.Client) error { _, _, err := c.ACLTokens().List(nil); return err }},
		{"non-uuid secret create", newClient(t, ts, "garbage"), func(c *api.Client) error {
			_, _, err := c.ACLTokens().Create(&api.ACLToken{Type: "management"}, nil)
			return err
		}},
		{"unknown secret self", newClient(t, ts, newUUID()), func(c *api.Client) error { _, _, err := c.ACLTokens().Self(nil); return err }},
		{"client list", cc, func(c *api.Client) error { _, _, err := c.ACLTokens().List(nil); return err }},
		{"client create", cc, func(c *api.Client) error {
			_, _, err := c.ACLTokens().Create(&api.ACLToken{Type: "management"}, nil)
			return err
		}},
		{"client delete", cc, func(c *api.Client) error { _, err := c.ACLTokens().Delete(other.AccessorID, nil); return err }},
		{"client reads other token", cc, func(c *api.Client) error { _, _, err := c.ACLTokens().Info(other.AccessorID, nil); return err }},
		{"client reads missing token", cc, func(c *api.Client) error { _, _, err := c.ACLTokens().Info(newUUID(), nil); return err }},
		{"client upserts policy", cc, func(c *api.Client) error {
			_, err := c.ACLPolicies().Upsert(&api.ACLPolicy{Name: "x", Rules: `node { policy = "read" }`}, nil)
			return err
		}},
		{"client reads foreign policy", cc, func(c *api.Client) error { _, _, err := c.ACLPolicies().Info("foreign", nil); return err }},
		{"anonymous reads role", newClient(t, ts, ""), func(c *api.Client) error { _, _, err := c.ACLRoles().GetByName("ops", nil); return err }},
	}
	for _, tc := range denied {
		t.Run(tc.name, func(t *testing.T) {
			requireAPIError(t, tc.call(tc.c), 403, "Permission denied")
		})
	}

	t.Run("client reads itself", func(t *testing.T) {
		self, _, err := cc.ACLTokens().Self(nil)
		require.NoError(t, err)
		require.Equal(t, client.AccessorID, self.AccessorID)
		own, _, err := cc.ACLTokens().Info(client.AccessorID, nil)
		require.NoError(t, err)
		require.Equal(t, client.SecretID, own.SecretID)
		pol, _, err := cc.ACLPolicies().Info("readonly", nil)
		require.NoError(t, err)
		require.Equal(t, "readonly", pol.Name)
		roles, _, err := cc.ACLRoles().List(nil)
		require.NoError(t, err)
		require.Len(t, roles, 1)
	})
	t.Run("anonymous self is the anonymous token", func(t *testing.T) {
		self, _, err := newClient(t, ts, "").ACLTokens().Self(nil)
		require.NoError(t, err)
		require.Equal(t, "anonymous", self.AccessorID)
		require.Equal(t, []string{"anonymous"}, self.Policies)
	})
	t.Run("bearer authorization", func(t *testing.T) {
		c, err := api.NewClient(&api.Config{Address: ts.URL, Headers: map[string][]string{"Authorization": {"Bearer " + ts.RootToken()}}})
		require.NoError(t, err)
		_, _, err = c.ACLTokens().List(nil)
		require.NoError(t, err)
	})
}

func TestListFilterAndPaging(t *testing.T) {
	ts := Start(t, Options{})
	root := newClient(t, ts, ts.RootToken())
	names := []string{"vault-a", "vault-b", "vault-c", "other"}
	acc := map[string]string{}
	for _, n := range names {
		tok, _, err := root.ACLTokens().Create(&api.ACLToken{Name: n, Type: "client", Policies: []string{"p"}}, nil)
		require.NoError(t, err)
		acc[n] = tok.AccessorID
	}

	tests := []struct {
		filter string
		want   []string
	}{
		{`Name == "vault-b"`, []string{"vault-b"}},
		{`Name matches "^vault-"`, []string{"vault-a", "vault-b", "vault-c"}},
		{`Name contains "the"`, []string{"other"}},
		{`Name matches "^vault" and not (Name == "vault-a")`, []string{"vault-b", "vault-c"}},
		{`Type == "management" or Name == "other"`, []string{"Bootstrap Token", "other"}},
		{`"p" in Policies and Global == false`, []string{"vault-a", "vault-b", "vault-c", "other"}},
		{`Name == "nobody"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			list, qm, err := root.ACLTokens().List(&api.QueryOptions{Filter: tc.filter})
			require.NoError(t, err)
			var got []string
			for _, s := range list {
				got = append(got, s.Name)
			}
			require.Equal(t, tc.want, got)
			require.NotZero(t, qm.LastIndex)
		})
	}
	t.Run("bad expression", func(t *testing.T) {
		_, _, err := root.ACLTokens().List(&api.QueryOptions{Filter: `Name ==`})
		require.Error(t, err)
		require.Contains(t, err.Error(), "failed to create result paginator: failed to read filter expression: ")
	})
	t.Run("unknown selector", func(t *testing.T) {
		_, _, err := root.ACLTokens().List(&api.QueryOptions{Filter: `Nope == "x"`})
		requireAPIError(t, err, 400, `failed to read result page: error finding value in datum: /Nope at part 0: couldn't find key: struct field with name "Nope"`)
	})
	t.Run("pages in create order", func(t *testing.T) {
		var got []string
		next := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 5)
			list, qm, err := root.ACLTokens().List(&api.QueryOptions{PerPage: 2, NextToken: next})
			require.NoError(t, err)
			for _, s := range list {
				got = append(got, s.Name)
			}
			if qm.NextToken == "" {
				break
			}
			next = qm.NextToken
		}
		require.Equal(t, append([]string{"Bootstrap Token"}, names...), got)
	})
	t.Run("accessor prefix", func(t *testing.T) {
		list, _, err := root.ACLTokens().List(&api.QueryOptions{Prefix: acc["vault-c"][:8]})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "vault-c", list[0].Name)
	})
}

func TestConcurrentCreatesAndDeletes(t *testing.T) {
	ts := Start(t, Options{})
	root := newClient(t, ts, ts.RootToken())
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tok, _, err := root.ACLTokens().Create(&api.ACLToken{Name: fmt.Sprintf("c-%d", i), Type: "client", Policies: []string{"p"}}, nil)
			if err != nil {
				errs <- err
				return
			}
			if i%2 == 0 {
				_, err = root.ACLTokens().Delete(tok.AccessorID, nil)
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1+n/2, ts.State()["tokens"])
	require.Equal(t, n, ts.Core().Count("TokenCreate"))
	require.Equal(t, n/2, ts.Core().Count("TokenDelete"))
}
