package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest"
)

func TestCredsRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 3, "ttl": "10m", "max_ttl": "1h", "scopes": "read,write"})

	resp := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	require.NotNil(t, resp.Secret)
	require.Equal(t, 10*time.Minute, resp.Secret.TTL)
	require.Equal(t, time.Hour, resp.Secret.MaxTTL)
	require.True(t, resp.Secret.Renewable)
	name := resp.Data["access_key"].(string)
	require.Equal(t, []string{name}, e.cloud.Objects())
	obj, _ := e.cloud.Object(name)
	require.Equal(t, []string{"attach-1", "attach-2"}, obj.Attachments)
	require.Equal(t, []string{"read", "write"}, resp.Data["scopes"])
	require.Equal(t, 0, e.WALCount())

	// Nothing secret in the lease's internal data.
	require.NotContains(t, mustJSON(t, resp.Secret.InternalData), obj.SecretKey)

	renewed, err := e.Renew(resp.Secret, 30*time.Minute, time.Now())
	require.NoError(t, err)
	require.Equal(t, 30*time.Minute, renewed.Secret.TTL)
	require.Equal(t, time.Hour, renewed.Secret.MaxTTL)

	_, err = e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.Empty(t, e.cloud.Objects())
	// Revoke is idempotent.
	_, err = e.Revoke(resp.Secret)
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
			resp := e.OK(op, "creds/memory/r", data)
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
	resp := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	issued := time.Now()

	r, err := e.Renew(resp.Secret, time.Hour, issued)
	require.NoError(t, err)
	require.LessOrEqual(t, r.Secret.TTL, 15*time.Minute)
	require.LessOrEqual(t, r.Secret.MaxTTL, 15*time.Minute)

	// Time passes: the key is dead, the lease not renewable.
	e.cloud.SetExpiry(resp.Data["access_key"].(string), time.Now().Add(-time.Second))
	r, err = e.Renew(resp.Secret, time.Hour, issued)
	require.NoError(t, err)
	require.True(t, r.IsError())
	require.Contains(t, r.Error().Error(), "not renewable")
}

func TestNonRenewableToken(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"credential_type": "token", "lifetime": "20m", "ttl": "1h"})
	resp := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	require.False(t, resp.Secret.Renewable)
	require.InDelta(t, (20 * time.Minute).Seconds(), resp.Secret.TTL.Seconds(), 1)
	require.Equal(t, 0, e.WALCount(), "a credential with nothing to undo writes no WAL entry")
	rr, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.Contains(t, rr.Warnings[0], "cannot be revoked early")
}

func TestRevokeAndRenewAfterRoleDeleteAndRestart(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"ttl": "10m", "max_ttl": "1h"})
	first := e.OK(logical.ReadOperation, "creds/memory/r", nil).Secret
	second := e.OK(logical.ReadOperation, "creds/memory/r", nil).Secret
	require.Len(t, e.cloud.Objects(), 2)

	e.OK(logical.DeleteOperation, "roles/memory/r", nil)
	r, err := e.Renew(first, 20*time.Minute, time.Now())
	require.NoError(t, err)
	require.Equal(t, 20*time.Minute, r.Secret.TTL)
	// The role's max_ttl recorded at issue still applies.
	require.Equal(t, time.Hour, r.Secret.MaxTTL)
	_, err = e.Revoke(first)
	require.NoError(t, err)
	require.Len(t, e.cloud.Objects(), 1)

	// A new backend on the same storage (restart, plugin reload).
	e.restart()
	r, err = e.Renew(second, 5*time.Minute, time.Now())
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, r.Secret.TTL)
	_, err = e.Revoke(second)
	require.NoError(t, err)
	require.Empty(t, e.cloud.Objects())
}

// createWAL mirrors the JSON of the plugin's WAL entry for a create.
type createWAL struct {
	Provider string `json:"provider"`
	Driver   string `json:"driver"`
	Role     string `json:"role"`
	Intent   string `json:"intent"`
}

func TestWALDuringCreateAndAfterSuccess(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	var seen []createWAL
	e.cloud.Hook = func(step, principal string) error {
		if step != "attach-1" {
			return nil
		}
		ids, err := framework.ListWAL(context.Background(), e.Storage)
		require.NoError(t, err)
		for _, id := range ids {
			w, err := framework.GetWAL(context.Background(), e.Storage, id)
			require.NoError(t, err)
			buf, err := json.Marshal(w.Data)
			require.NoError(t, err)
			var c createWAL
			require.NoError(t, json.Unmarshal(buf, &c))
			seen = append(seen, c)
		}
		require.Contains(t, seen[0].Intent, principal, "the WAL entry names the object before it is made")
		return nil
	}
	e.OK(logical.ReadOperation, "creds/memory/r", nil)
	require.Len(t, seen, 1)
	require.Equal(t, "memory", seen[0].Provider)
	require.Equal(t, 0, e.WALCount())
}

func TestCreateInterruptedIsRolledBack(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 3})
	// Crash the request right after the first cloud call: no cleanup,
	// no response, as if the plugin process died.
	e.crashIssue()
	require.Len(t, e.cloud.Objects(), 1, "the crashed create left its principal")
	require.Equal(t, 1, e.WALCount())

	// Restart, then Vault's rollback manager runs.
	e.restart()
	require.NoError(t, e.Rollback())
	require.Empty(t, e.cloud.Objects())
	require.Equal(t, 0, e.WALCount())

	// A young entry is left alone by the normal (not immediate) rollback.
	e.crashIssue()
	_, err := e.B.HandleRequest(context.Background(), &logical.Request{Operation: logical.RollbackOperation, Storage: e.Storage})
	require.NoError(t, err)
	require.Equal(t, 1, e.WALCount(), "entries younger than WALRollbackMinAge are kept")
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
			_, err := e.Do(logical.ReadOperation, "creds/memory/r", nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), step)
			var ce logical.HTTPCodedError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, 502, ce.Code())
			require.Empty(t, e.cloud.Objects())
			require.Equal(t, 0, e.WALCount())
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
	_, err := e.Do(logical.ReadOperation, "creds/memory/r", nil)
	require.Error(t, err)
	require.Len(t, e.cloud.Objects(), 1)
	require.Equal(t, 1, e.WALCount(), "the object is still named by the WAL")
	e.cloud.Hook = nil
	require.NoError(t, e.Rollback())
	require.Empty(t, e.cloud.Objects())
	require.Equal(t, 0, e.WALCount())
}

func TestRevokeErrors(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{})
	s := e.OK(logical.ReadOperation, "creds/memory/r", nil).Secret
	e.cloud.Hook = func(string, string) error { return errors.New("cloud down") }
	_, err := e.Revoke(s)
	require.Error(t, err, "a failed revoke is returned so Vault retries")
	require.NotErrorIs(t, err, logical.ErrUnrecoverable)
	e.cloud.Hook = nil

	bad := plugintest.RoundTrip(t, s)
	bad.InternalData["data"] = "not json"
	_, err = e.Revoke(bad)
	require.Equal(t, logical.ErrUnrecoverable, err, "the sentinel itself, unwrapped")

	bad = plugintest.RoundTrip(t, s)
	bad.InternalData["version"] = 99
	_, err = e.Revoke(bad)
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
				e.Coded(tc.status, tc.op, tc.path, tc.data, tc.want[0])
			} else {
				e.BadRequest(tc.op, tc.path, tc.data, tc.want...)
			}
			require.Equal(t, 0, e.cloud.Calls("create"))
			require.Empty(t, e.cloud.Objects())
			require.Equal(t, 0, e.WALCount())
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
			resp, err := e.Do(logical.ReadOperation, "creds/memory/r", nil)
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
			if _, err := e.Revoke(s); err != nil {
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
	require.Equal(t, 0, e.WALCount())
}
