package plugin

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest"
)

func TestCredsRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 3, "ttl": "10m", "max_ttl": "1h", "scopes": "read,write"})

	resp := e.ok(logical.ReadOperation, "creds/memory/r", nil)
	require.NotNil(t, resp.Secret)
	require.Equal(t, 10*time.Minute, resp.Secret.TTL)
	require.Equal(t, time.Hour, resp.Secret.MaxTTL)
	require.True(t, resp.Secret.Renewable)
	name := resp.Data["access_key"].(string)
	require.Equal(t, []string{name}, e.cloud.Objects())
	obj, _ := e.cloud.Object(name)
	require.Equal(t, []string{"attach-1", "attach-2"}, obj.Attachments)
	require.Equal(t, []string{"read", "write"}, resp.Data["scopes"])
	require.Equal(t, 0, e.walCount())

	// Nothing secret in the lease's internal data.
	require.NotContains(t, mustJSON(t, resp.Secret.InternalData), obj.SecretKey)

	renewed, err := e.renew(resp.Secret, 30*time.Minute, time.Now())
	require.NoError(t, err)
	require.Equal(t, 30*time.Minute, renewed.Secret.TTL)
	require.Equal(t, time.Hour, renewed.Secret.MaxTTL)

	_, err = e.revoke(resp.Secret)
	require.NoError(t, err)
	require.Empty(t, e.cloud.Objects())
	// Revoke is idempotent.
	_, err = e.revoke(resp.Secret)
	require.NoError(t, err)
}

func TestCredsTTL(t *testing.T) {
	cases := []struct {
		name    string
		role    map[string]any
		ttl     any
		wantTTL time.Duration
		wantMax time.Duration
		warning string
	}{
		{"mount default", map[string]any{}, nil, time.Hour, 24 * time.Hour, ""},
		{"role ttl", map[string]any{"ttl": 600}, nil, 10 * time.Minute, 24 * time.Hour, ""},
		{"requested", map[string]any{"ttl": 600, "max_ttl": 7200}, "30m", 30 * time.Minute, 2 * time.Hour, ""},
		{"requested over max is capped", map[string]any{"max_ttl": "1h"}, "2h", time.Hour, time.Hour, "capped"},
		{"cloud expiry caps the lease", map[string]any{"lifetime": "5m", "ttl": "1h"}, nil, 5 * time.Minute, 5 * time.Minute, "lifetime in the cloud"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.setup(tc.role)
			var data map[string]any
			op := logical.Operation(logical.ReadOperation)
			if tc.ttl != nil {
				data, op = map[string]any{"ttl": tc.ttl}, logical.Operation(logical.UpdateOperation)
			}
			resp := e.ok(op, "creds/memory/r", data)
			require.InDelta(t, tc.wantTTL.Seconds(), resp.Secret.TTL.Seconds(), 1)
			require.InDelta(t, tc.wantMax.Seconds(), resp.Secret.MaxTTL.Seconds(), 1)
			if tc.warning != "" {
				require.Contains(t, strings.Join(resp.Warnings, "\n"), tc.warning)
			}
		})
	}
}

func TestRenewNeverPassesCloudExpiry(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"lifetime": "15m", "max_ttl": "2h"})
	resp := e.ok(logical.ReadOperation, "creds/memory/r", nil)
	issued := time.Now()

	r, err := e.renew(resp.Secret, time.Hour, issued)
	require.NoError(t, err)
	require.LessOrEqual(t, r.Secret.TTL, 15*time.Minute)
	require.LessOrEqual(t, r.Secret.MaxTTL, 15*time.Minute)

	// Time passes: the key is dead, the lease not renewable.
	e.cloud.SetExpiry(resp.Data["access_key"].(string), time.Now().Add(-time.Second))
	r, err = e.renew(resp.Secret, time.Hour, issued)
	require.NoError(t, err)
	require.True(t, r.IsError())
	require.Contains(t, r.Error().Error(), "not renewable")
}

func TestNonRenewableToken(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"credential_type": "token", "lifetime": "20m", "ttl": "1h"})
	resp := e.ok(logical.ReadOperation, "creds/memory/r", nil)
	require.False(t, resp.Secret.Renewable)
	require.InDelta(t, (20 * time.Minute).Seconds(), resp.Secret.TTL.Seconds(), 1)
	require.Equal(t, 0, e.walCount(), "a credential with nothing to undo writes no WAL entry")
	rr, err := e.revoke(resp.Secret)
	require.NoError(t, err)
	require.Contains(t, rr.Warnings[0], "cannot be revoked early")
}

func TestRevokeAndRenewAfterRoleDeleteAndRestart(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"ttl": "10m", "max_ttl": "1h"})
	first := e.ok(logical.ReadOperation, "creds/memory/r", nil).Secret
	second := e.ok(logical.ReadOperation, "creds/memory/r", nil).Secret
	require.Len(t, e.cloud.Objects(), 2)

	e.ok(logical.DeleteOperation, "roles/memory/r", nil)
	r, err := e.renew(first, 20*time.Minute, time.Now())
	require.NoError(t, err)
	require.Equal(t, 20*time.Minute, r.Secret.TTL)
	// The role's max_ttl recorded at issue still applies.
	require.Equal(t, time.Hour, r.Secret.MaxTTL)
	_, err = e.revoke(first)
	require.NoError(t, err)
	require.Len(t, e.cloud.Objects(), 1)

	// A new backend on the same storage (restart, plugin reload).
	e.b = e.newBackend()
	r, err = e.renew(second, 5*time.Minute, time.Now())
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, r.Secret.TTL)
	_, err = e.revoke(second)
	require.NoError(t, err)
	require.Empty(t, e.cloud.Objects())
}

func TestWALDuringCreateAndAfterSuccess(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	var seen []createWAL
	e.cloud.Hook = func(step, principal string) error {
		if step != "attach-1" {
			return nil
		}
		ids, err := framework.ListWAL(context.Background(), e.storage)
		require.NoError(t, err)
		for _, id := range ids {
			w, err := framework.GetWAL(context.Background(), e.storage, id)
			require.NoError(t, err)
			var c createWAL
			require.NoError(t, decodeInto(w.Data, &c))
			seen = append(seen, c)
		}
		require.Contains(t, seen[0].Intent, principal, "the WAL entry names the object before it is made")
		return nil
	}
	e.ok(logical.ReadOperation, "creds/memory/r", nil)
	require.Len(t, seen, 1)
	require.Equal(t, "memory", seen[0].Provider)
	require.Equal(t, 0, e.walCount())
}

func TestCreateInterruptedIsRolledBack(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 3})
	// Crash the request right after the first cloud call: no cleanup,
	// no response, as if the plugin process died.
	e.cloud.Hook = func(step, _ string) error {
		if step == "attach-1" {
			runtime.Goexit()
		}
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.do(logical.ReadOperation, "creds/memory/r", nil)
	}()
	<-done
	require.Len(t, e.cloud.Objects(), 1, "the crashed create left its principal")
	require.Equal(t, 1, e.walCount())

	// Restart, then Vault's rollback manager runs.
	e.cloud.Hook = nil
	e.b = e.newBackend()
	e.rollback()
	require.Empty(t, e.cloud.Objects())
	require.Equal(t, 0, e.walCount())

	// A young entry is left alone by the normal (not immediate) rollback.
	e.cloud.Hook = func(step, _ string) error {
		if step == "attach-1" {
			runtime.Goexit()
		}
		return nil
	}
	done = make(chan struct{})
	go func() { defer close(done); _, _ = e.do(logical.ReadOperation, "creds/memory/r", nil) }()
	<-done
	_, err := e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.RollbackOperation, Storage: e.storage})
	require.NoError(t, err)
	require.Equal(t, 1, e.walCount(), "entries younger than WALRollbackMinAge are kept")
}

func TestCreateFailingHalfwayCleansUp(t *testing.T) {
	for _, step := range []string{"create-principal", "attach-1", "attach-2"} {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t)
			e.setup(map[string]any{"parts": 3})
			e.cloud.Hook = func(s, _ string) error {
				if s == step {
					return providertest.ErrInjected
				}
				return nil
			}
			_, err := e.do(logical.ReadOperation, "creds/memory/r", nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), step)
			var ce logical.HTTPCodedError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, 502, ce.Code())
			require.Empty(t, e.cloud.Objects())
			require.Equal(t, 0, e.walCount())
		})
	}
}

func TestFailedRollbackKeepsWAL(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	e.cloud.Hook = func(s, _ string) error {
		if s == "attach-1" || s == "delete-principal" {
			return providertest.ErrInjected
		}
		return nil
	}
	_, err := e.do(logical.ReadOperation, "creds/memory/r", nil)
	require.Error(t, err)
	require.Len(t, e.cloud.Objects(), 1)
	require.Equal(t, 1, e.walCount(), "the object is still named by the WAL")
	e.cloud.Hook = nil
	e.rollback()
	require.Empty(t, e.cloud.Objects())
	require.Equal(t, 0, e.walCount())
}

func TestRevokeErrors(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{})
	s := e.ok(logical.ReadOperation, "creds/memory/r", nil).Secret
	e.cloud.Hook = func(string, string) error { return errors.New("cloud down") }
	_, err := e.revoke(s)
	require.Error(t, err, "a failed revoke is returned so Vault retries")
	require.NotErrorIs(t, err, logical.ErrUnrecoverable)
	e.cloud.Hook = nil

	bad := roundTrip(t, s)
	bad.InternalData["data"] = "not json"
	_, err = e.revoke(bad)
	require.Equal(t, logical.ErrUnrecoverable, err, "the sentinel itself, unwrapped")

	bad = roundTrip(t, s)
	bad.InternalData["version"] = 99
	_, err = e.revoke(bad)
	require.ErrorContains(t, err, "version 99")
}

func TestBadInputCreatesNothing(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"ttl": "10m", "max_ttl": "1h"})
	cases := []struct {
		name   string
		op     logical.Operation
		path   string
		data   map[string]any
		status int // 0: a 400 error response
		want   []string
	}{
		{"unknown provider", logical.ReadOperation, "creds/nope/r", nil, 404, []string{"nope", "not configured"}},
		{"unknown role", logical.ReadOperation, "creds/memory/nope", nil, 404, []string{"nope", "not found"}},
		{"unknown field", logical.UpdateOperation, "creds/memory/r", map[string]any{"colour": "red"}, 0, []string{"colour", "label", "ttl"}},
		{"negative ttl", logical.UpdateOperation, "creds/memory/r", map[string]any{"ttl": -5}, 0, []string{"ttl", "negative"}},
		{"non-numeric ttl", logical.UpdateOperation, "creds/memory/r", map[string]any{"ttl": "soon"}, 0, []string{"ttl"}},
		{"bad request param", logical.UpdateOperation, "creds/memory/r", map[string]any{"label": "bad"}, 0, []string{"label"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.status != 0 {
				e.coded(tc.status, tc.op, tc.path, tc.data, tc.want[0])
			} else {
				e.badRequest(tc.op, tc.path, tc.data, tc.want...)
			}
			require.Equal(t, 0, e.cloud.Calls("create"))
			require.Empty(t, e.cloud.Objects())
			require.Equal(t, 0, e.walCount())
		})
	}
}

func TestConcurrentCreds(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	const n = 200
	secrets := make([]*logical.Secret, n)
	keys := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.do(logical.ReadOperation, "creds/memory/r", nil)
			if err != nil {
				errs <- err
				return
			}
			secrets[i], keys[i] = resp.Secret, resp.Data["access_key"].(string)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	distinct := map[string]bool{}
	for _, k := range keys {
		distinct[k] = true
	}
	require.Len(t, distinct, n)
	require.Len(t, e.cloud.Objects(), n)

	errs = make(chan error, n)
	for _, s := range secrets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.revoke(s); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Empty(t, e.cloud.Objects())
	require.Equal(t, 0, e.walCount())
}
