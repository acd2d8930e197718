package nomad_test

import (
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// Done means 4: expiration_ttl=10m with max_ttl 1h caps the lease at 10m,
// at issue and on every renew.
func TestExpirationTTLCapsLeaseAndRenew(t *testing.T) {
	e := newEnv(t, nomadtest.Options{})
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly", "expiration_ttl": "10m", "ttl": "30m", "max_ttl": "1h"})

	start := time.Now()
	resp := e.issue("r")
	tok, ok := e.ts.Token(resp.Data["accessor_id"].(string))
	require.True(t, ok)
	require.WithinDuration(t, start.Add(10*time.Minute), tok.ExpirationTime, 5*time.Second, "Nomad-side expiry is create time + expiration_ttl")
	require.Equal(t, tok.ExpirationTime.UTC().Format(time.RFC3339), resp.Data["expiration_time"])
	require.LessOrEqual(t, resp.Secret.TTL, 10*time.Minute)
	require.LessOrEqual(t, resp.Secret.MaxTTL, 10*time.Minute)
	require.Greater(t, resp.Secret.TTL, 9*time.Minute)

	tests := []struct {
		name      string
		elapsed   time.Duration
		increment time.Duration
	}{
		{"right after issue, asking 1h", 0, time.Hour},
		{"after 5m, asking 1h", 5 * time.Minute, time.Hour},
		{"after 9m, no increment", 9 * time.Minute, 0},
		{"after 9m50s, asking 30m", 9*time.Minute + 50*time.Second, 30 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Renewing at "issued - elapsed" is renewing elapsed after issue.
			issued := time.Now().Add(-tc.elapsed)
			r, err := e.Renew(resp.Secret, tc.increment, issued)
			require.NoError(t, err)
			require.False(t, r.IsError(), "%v", r.Error())
			// Vault ends the lease at issued + min(TTL, MaxTTL) from now.
			end := time.Now().Add(r.Secret.TTL)
			if mx := issued.Add(r.Secret.MaxTTL); mx.Before(end) {
				end = mx
			}
			require.False(t, end.After(tok.ExpirationTime), "lease end %s passes the token's Nomad expiry %s", end, tok.ExpirationTime)
			if tc.elapsed == 0 {
				require.LessOrEqual(t, r.Secret.TTL, 10*time.Minute)
				require.LessOrEqual(t, r.Secret.MaxTTL, 10*time.Minute)
			}
		})
	}
}

// A lease whose token has expired in Nomad cannot be renewed.
func TestRenewPastNomadExpiryIsRefused(t *testing.T) {
	e := newEnv(t, nomadtest.Options{MinExpirationTTL: time.Second})
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly", "expiration_ttl": "2s"})
	resp := e.issue("r")
	issued := time.Now()
	require.LessOrEqual(t, resp.Secret.TTL, 2*time.Second)

	time.Sleep(2100 * time.Millisecond)
	_, _, err := e.client(resp.Data["secret_id"].(string)).ACLTokens().Self(nil)
	require.Error(t, err, "the token has expired in Nomad")
	r, err := e.Renew(resp.Secret, time.Hour, issued)
	if err == nil {
		require.True(t, r.IsError(), "renew past the Nomad expiry must fail")
		require.Contains(t, r.Error().Error(), "expir")
	}
}

// Done means 4: an expiration_ttl outside the server's bounds is refused
// with a 400 naming expiration_ttl and Nomad's bound; nothing is created.
func TestExpirationTTLOutsideServerBounds(t *testing.T) {
	tests := []struct {
		name string
		opts nomadtest.Options
		ttl  string
		want string
	}{
		{"above the default max", nomadtest.Options{}, "48h", "cannot be more than 24h0m0s"},
		{"below the default min", nomadtest.Options{}, "30s", "cannot be less than 1m0s"},
		{"above a configured max", nomadtest.Options{MaxExpirationTTL: 2 * time.Hour}, "3h", "cannot be more than 2h0m0s"},
		{"below a configured min", nomadtest.Options{MinExpirationTTL: 10 * time.Minute}, "5m", "cannot be less than 10m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			e.configure(nil)
			e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly", "expiration_ttl": tc.ttl})
			before := e.ts.State()
			e.BadRequest(logical.ReadOperation, "creds/nomad/r", nil, "expiration_ttl", tc.want, "token_max_expiration_ttl")
			require.Equal(t, before, e.ts.State(), "nothing created")
			require.Zero(t, e.WALCount(), "the refused create leaves no WAL entry")
		})
	}
	t.Run("within configured bounds works", func(t *testing.T) {
		e := newEnv(t, nomadtest.Options{MaxExpirationTTL: 72 * time.Hour})
		e.configure(nil)
		e.OK(logical.UpdateOperation, "roles/nomad/r", map[string]any{"policies": "readonly", "expiration_ttl": "48h"})
		resp := e.issue("r")
		require.LessOrEqual(t, resp.Secret.MaxTTL, 48*time.Hour)
	})
}
