package ncloud_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
)

// Done means 1: ttl=15m issues a key whose expireTime is 15 minutes ahead,
// the lease TTL equals it, a renew asking for 1h gets at most what is left.
func TestSTSLeaseMatchesKey(t *testing.T) {
	e := newEnv(t)
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/ncloud/ci", map[string]any{"ttl": "15m"})

	issued := time.Now()
	resp := e.OK(logical.ReadOperation, "creds/ncloud/ci", nil)
	ak := resp.Data["access_key"].(string)
	secret := resp.Data["secret_key"].(string)
	require.NotEmpty(t, secret)

	key, ok := e.ts.STSKey(ak)
	require.True(t, ok, "the emulator issued the key")
	require.Equal(t, 15*time.Minute, key.ExpireTime.Sub(key.CreateTime), "durationSec = 900")
	require.Equal(t, key.ExpireTime.UTC().Format("2006-01-02T15:04:05Z"), resp.Data["expire_time"])
	require.InDelta(t, (15 * time.Minute).Seconds(), time.Until(key.ExpireTime).Seconds(), 2)
	require.InDelta(t, time.Until(key.ExpireTime).Seconds(), resp.Secret.TTL.Seconds(), 2, "lease TTL = key lifetime")
	require.LessOrEqual(t, resp.Secret.TTL, time.Until(key.ExpireTime)+time.Second, "the lease never outlives the key")
	require.True(t, resp.Secret.Renewable)

	internal, err := json.Marshal(resp.Secret.InternalData)
	require.NoError(t, err)
	require.NotContains(t, string(internal), secret, "internal data holds no secret")
	require.Contains(t, string(internal), ak)

	r, err := e.Renew(resp.Secret, time.Hour, issued)
	require.NoError(t, err)
	require.False(t, r.IsError(), "%v", r.Error())
	left := time.Until(key.ExpireTime)
	require.LessOrEqual(t, r.Secret.TTL, left+time.Second, "renew is capped at the key's expireTime")
	require.Greater(t, r.Secret.TTL, left-3*time.Second)
	require.LessOrEqual(t, r.Secret.MaxTTL, 15*time.Minute+time.Second)

	rr, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.NotNil(t, rr)
	require.Len(t, rr.Warnings, 1)
	require.Contains(t, rr.Warnings[0], "cannot be revoked early")
	require.Equal(t, 1, e.ts.Core().Count("CreateCredentials"), "one STS call per lease")
}

// Done means 1 (end): once the key has expired, renew is refused. The
// emulator and the driver run 14m57s behind, so a 15-minute key expires
// 3 seconds from now in real time, which is the plugin's clock.
func TestSTSRenewRefusedAfterExpiry(t *testing.T) {
	offset := -(15*time.Minute - 3*time.Second)
	clock := func() time.Time { return time.Now().Add(offset) }
	e := newEnv(t, ncloud.WithClock(clock))
	e.ts.SetClock(clock)
	e.configure(nil)
	e.OK(logical.UpdateOperation, "roles/ncloud/ci", map[string]any{"ttl": "15m"})

	issued := time.Now()
	resp := e.OK(logical.ReadOperation, "creds/ncloud/ci", nil)
	key, ok := e.ts.STSKey(resp.Data["access_key"].(string))
	require.True(t, ok)
	require.Equal(t, 15*time.Minute, key.ExpireTime.Sub(key.CreateTime))
	require.LessOrEqual(t, resp.Secret.TTL, 3*time.Second, "the lease ends with the key")

	time.Sleep(time.Until(key.ExpireTime) + time.Second)
	r, err := e.Renew(resp.Secret, time.Hour, issued)
	require.NoError(t, err)
	require.True(t, r.IsError(), "renew after expiry must be refused")
	require.Contains(t, r.Error().Error(), "hard expiry")
}

// Done means 2: a TTL under the STS minimum is a 400 naming ttl and 600 s,
// and nothing is created.
func TestSTSTTLBelowMinimum(t *testing.T) {
	tests := []struct {
		name string
		role map[string]any
		req  map[string]any
	}{
		{name: "role ttl 5m", role: map[string]any{"ttl": "5m"}},
		{name: "requested ttl 5m", role: map[string]any{"ttl": "1h"}, req: map[string]any{"ttl": "5m"}},
		{name: "role ttl 599s", role: map[string]any{"ttl": 599}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.configure(nil)
			if tc.req == nil {
				// Refused at role write: the role could only issue keys
				// that outlive their leases.
				e.BadRequest(logical.UpdateOperation, "roles/ncloud/short", tc.role, "ttl", "600 s")
			} else {
				e.OK(logical.UpdateOperation, "roles/ncloud/short", tc.role)
				e.BadRequest(logical.UpdateOperation, "creds/ncloud/short", tc.req, "ttl", "600 s")
			}
			require.Equal(t, 0, e.ts.Core().Count("CreateCredentials"), "no call made")
			require.Equal(t, 0, e.ts.State()["sts_keys"])
			require.Equal(t, 0, e.WALCount())
		})
	}
}

// Done means 3: a wrong secret or a 6-minute clock skew is refused by the
// emulator with Ncloud's authentication error; the driver says so clearly
// and never echoes a secret.
func TestSTSAuthenticationErrors(t *testing.T) {
	const wrongSecret = "ncp_iam_WRONGSECRETWRONGSECRETWRONGSECRET00"
	tests := []struct {
		name   string
		skew   time.Duration
		secret string
		want   []string
	}{
		{name: "wrong secret", secret: wrongSecret, want: []string{"CreateCredentials", "200", "Authentication Failed", "Signature", "secret_key"}},
		{name: "clock 6 minutes ahead", skew: 6 * time.Minute, want: []string{"CreateCredentials", "200", "Authentication Failed", "timestamp", "5 minutes"}},
		{name: "clock 6 minutes behind", skew: -6 * time.Minute, want: []string{"Authentication Failed", "timestamp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, ncloud.WithClock(func() time.Time { return time.Now().Add(tc.skew) }))
			extra := map[string]any{}
			if tc.secret != "" {
				extra["secret_key"] = tc.secret
			}
			e.configure(extra)
			e.OK(logical.UpdateOperation, "roles/ncloud/ci", map[string]any{"ttl": "15m"})
			msg := e.Coded(http.StatusBadGateway, logical.ReadOperation, "creds/ncloud/ci", nil)
			t.Logf("driver error: %s", msg)
			for _, w := range tc.want {
				require.Contains(t, msg, w)
			}
			_, rootSecret := e.ts.RootCredentials()
			require.NotContains(t, msg, rootSecret)
			require.NotContains(t, msg, wrongSecret)
			require.Equal(t, 0, e.ts.State()["sts_keys"])
			require.Equal(t, 1, e.ts.Core().Count("CreateCredentials"), "a non-idempotent call is not retried")
		})
	}
}
