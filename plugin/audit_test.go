package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/providertest"
)

func orphanNames(t *testing.T, data map[string]any, key string) []string {
	t.Helper()
	var out []string
	for _, o := range data[key].([]map[string]any) {
		out = append(out, o["name"].(string))
	}
	return out
}

// TestAuditAndTidy: objects made behind the plugin's back with this mount's
// mark are orphans; live credentials, other mounts' and unmarked objects
// are never touched; tidy removes orphans older than min_age only.
func TestAuditAndTidy(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	live1 := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	live2 := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	mount := e.OK(logical.ReadOperation, "settings", nil).Data["mount_id"].(string)
	require.Regexp(t, `^[a-z2-7]{8}$`, mount)
	obj, _ := e.cloud.Object(live1.Data["access_key"].(string))
	require.Equal(t, providers.Mark{Mount: mount, Instance: "memory"}, obj.Mark, "issued objects carry the mount's mark")

	old := time.Now().Add(-2 * time.Hour)
	e.cloud.AddObject("orphan-old", providers.Mark{Mount: mount, Instance: "memory"}, old)
	e.cloud.AddObject("orphan-new", providers.Mark{Mount: mount, Instance: "memory"}, time.Now())
	e.cloud.AddObject("other-mount", providers.Mark{Mount: "zzzzzzzz", Instance: "memory"}, old)
	e.cloud.AddObject("other-instance", providers.Mark{Mount: mount, Instance: "memory-b"}, old)
	e.cloud.AddObject("unmarked", providers.Mark{}, old)

	audit := e.OK(logical.ReadOperation, "audit/memory", nil)
	require.Equal(t, 4, audit.Data["scanned"])
	require.Equal(t, 2, audit.Data["held"])
	require.Equal(t, []string{"orphan-new", "orphan-old"}, orphanNames(t, audit.Data, "orphans"))
	require.Empty(t, audit.Data["ghosts"])
	require.Equal(t, "memory:memory://:000000000000", audit.Data["target"])

	// Dry by default.
	dry := e.OK(logical.UpdateOperation, "tidy/memory", nil)
	require.Equal(t, true, dry.Data["dry_run"])
	require.Equal(t, []string{"orphan-old"}, orphanNames(t, dry.Data, "removed"))
	require.Equal(t, []string{"orphan-new"}, orphanNames(t, dry.Data, "kept_younger_than_min_age"))
	_, still := e.cloud.Object("orphan-old")
	require.True(t, still, "a dry run removes nothing")

	done := e.OK(logical.UpdateOperation, "tidy/memory", map[string]any{"dry_run": false})
	require.Equal(t, []string{"orphan-old"}, orphanNames(t, done.Data, "removed"))
	for _, name := range []string{"orphan-new", "other-mount", "other-instance", "unmarked", live1.Data["access_key"].(string), live2.Data["access_key"].(string)} {
		_, ok := e.cloud.Object(name)
		require.True(t, ok, "%s is untouched", name)
	}
	_, ok := e.cloud.Object("orphan-old")
	require.False(t, ok)

	done = e.OK(logical.UpdateOperation, "tidy/memory", map[string]any{"dry_run": false, "min_age": 0})
	require.Equal(t, []string{"orphan-new"}, orphanNames(t, done.Data, "removed"))
	audit = e.OK(logical.ReadOperation, "audit/memory", nil)
	require.Empty(t, audit.Data["orphans"])
	require.Equal(t, 2, audit.Data["held"])
}

// TestAuditGhosts: an index entry whose object was deleted behind the
// plugin's back is a ghost; tidy drops it, and the lease still revokes.
func TestAuditGhosts(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 1})
	lease := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	require.NoError(t, deleteObject(e.cloud, lease.Data["access_key"].(string)))
	audit := e.OK(logical.ReadOperation, "audit/memory", nil)
	ghosts := audit.Data["ghosts"].([]map[string]any)
	require.Len(t, ghosts, 1)
	require.Equal(t, "r", ghosts[0]["role"])
	require.Contains(t, ghosts[0]["reason"], "gone from the cloud")

	done := e.OK(logical.UpdateOperation, "tidy/memory", map[string]any{"dry_run": false})
	require.Len(t, done.Data["dropped_index_entries"], 1)
	roles := e.OK(logical.ListOperation, "creds/memory/", nil)
	require.Empty(t, roles.Data["keys"])
	_, err := e.Revoke(lease.Secret)
	require.NoError(t, err)
}

// TestAuditAbandonedLease: a lease whose revoke failed and that Vault then
// dropped (revoked with -force) leaves an abandoned index entry: its object
// is an orphan, and tidy removes it and the entry.
func TestAuditAbandonedLease(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 1})
	lease := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	name := lease.Data["access_key"].(string)
	e.cloud.Hook = func(step, _ string) error {
		if step == "delete-principal" {
			return providertest.ErrInjected
		}
		return nil
	}
	_, err := e.Revoke(lease.Secret)
	require.Error(t, err)
	e.cloud.Hook = nil
	// Vault's -force drops the lease; the plugin hears nothing more.

	fresh := e.OK(logical.ReadOperation, "audit/memory", nil)
	require.Empty(t, fresh.Data["orphans"], "a revoke that just failed is still Vault's to retry")

	audit := e.OK(logical.ReadOperation, "audit/memory", map[string]any{"abandon_after": 0})
	orphans := audit.Data["orphans"].([]map[string]any)
	require.Len(t, orphans, 1)
	require.Equal(t, name, orphans[0]["name"])
	require.Contains(t, orphans[0]["reason"], "its revoke failed at")

	done := e.OK(logical.UpdateOperation, "tidy/memory", map[string]any{"dry_run": false, "min_age": 0, "abandon_after": 0})
	require.Equal(t, []string{name}, orphanNames(t, done.Data, "removed"))
	require.Len(t, done.Data["dropped_index_entries"], 1)
	require.Empty(t, e.cloud.Objects())
}

// TestPeriodicTidy: tidy_interval on the config tidies from the rollback
// manager's periodic call, once per interval.
func TestPeriodicTidy(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 1})
	e.BadRequest(logical.UpdateOperation, "config/memory", map[string]any{"tidy_interval": 10}, "tidy_interval: must be 0 (off) or at least 1m0s")
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"tidy_interval": "1h", "tidy_min_age": 0})
	cfg := e.OK(logical.ReadOperation, "config/memory", nil)
	require.EqualValues(t, 3600, cfg.Data["tidy_interval"])
	e.OK(logical.ReadOperation, "creds/memory/r", nil) // generates the mount id
	mount := e.OK(logical.ReadOperation, "settings", nil).Data["mount_id"].(string)

	periodic := func() {
		_, err := e.B.HandleRequest(context.Background(), &logical.Request{Operation: logical.RollbackOperation, Storage: e.Storage})
		require.NoError(t, err)
	}
	e.cloud.AddObject("orphan-1", providers.Mark{Mount: mount, Instance: "memory"}, time.Now())
	periodic()
	_, ok := e.cloud.Object("orphan-1")
	require.False(t, ok, "the periodic tidy removed the orphan")

	e.cloud.AddObject("orphan-2", providers.Mark{Mount: mount, Instance: "memory"}, time.Now())
	periodic()
	_, ok = e.cloud.Object("orphan-2")
	require.True(t, ok, "not again before tidy_interval has passed")
	require.Len(t, e.cloud.Objects(), 2)
}

// TestSettingsMountID: the mount id marks every object; it can be set to
// adopt a gone mount's objects, with a warning when it changes.
func TestSettingsMountID(t *testing.T) {
	e := newEnv(t)
	e.BadRequest(logical.UpdateOperation, "settings", map[string]any{"mount_id": "ABC"}, "mount_id: must be 8 characters")
	e.OK(logical.UpdateOperation, "settings", map[string]any{"mount_id": "abcdefgh"})
	e.setup(map[string]any{"parts": 1})
	resp := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	obj, _ := e.cloud.Object(resp.Data["access_key"].(string))
	require.Equal(t, "abcdefgh", obj.Mark.Mount)
	w := e.OK(logical.UpdateOperation, "settings", map[string]any{"mount_id": "bbbbbbbb"})
	require.Contains(t, w.Warnings[0], "no longer this mount's")
}

func deleteObject(c *providertest.Cloud, name string) error {
	c.Hook = nil
	return c.Delete(name)
}

// TestTidyRemovesConcurrently: tidy removes orphans 16 at a time, never
// more, so that thousands of them fit in Vault's request timeout.
func TestTidyRemovesConcurrently(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 1})
	e.OK(logical.ReadOperation, "creds/memory/r", nil) // makes the mount id
	mount := e.OK(logical.ReadOperation, "settings", nil).Data["mount_id"].(string)
	const orphans, want = 40, 16
	for i := range orphans {
		e.cloud.AddObject(fmt.Sprintf("orphan-%02d", i), providers.Mark{Mount: mount, Instance: "memory"}, time.Now().Add(-2*time.Hour))
	}
	var mu sync.Mutex
	inFlight, most, started := 0, 0, 0
	e.cloud.Hook = func(step, principal string) error {
		if step != "delete-principal" {
			return nil
		}
		mu.Lock()
		inFlight++
		started++
		most = max(most, inFlight)
		mu.Unlock()
		// Each removal waits until want are in flight (or every orphan
		// has started), so a tidy that removes fewer at once shows as a
		// smaller peak after the timeout instead of a hang.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			done := inFlight >= want || started >= orphans
			mu.Unlock()
			if done {
				break
			}
			time.Sleep(time.Millisecond)
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	}
	done := e.OK(logical.UpdateOperation, "tidy/memory", map[string]any{"dry_run": false})
	require.Len(t, orphanNames(t, done.Data, "removed"), orphans)
	require.Empty(t, done.Data["failed"])
	require.Equal(t, want, most, "removals in flight at once")
	audit := e.OK(logical.ReadOperation, "audit/memory", nil)
	require.Empty(t, audit.Data["orphans"])
	require.Equal(t, 1, audit.Data["held"])
}

// TestTidyStopsBeforeTheDeadline: when the request's time is almost up,
// tidy starts no more removals and answers with what it removed and what
// it left for the next run, instead of being cut off by Vault's timeout.
func TestTidyStopsBeforeTheDeadline(t *testing.T) {
	for _, budget := range []bool{true, false} { // the plugin's clock (Vault's way), or a context deadline
		t.Run(fmt.Sprintf("budget=%v", budget), func(t *testing.T) {
			e := newEnv(t)
			e.setup(map[string]any{"parts": 1})
			e.OK(logical.ReadOperation, "creds/memory/r", nil)
			mount := e.OK(logical.ReadOperation, "settings", nil).Data["mount_id"].(string)
			const orphans = 40
			for i := range orphans {
				e.cloud.AddObject(fmt.Sprintf("orphan-%02d", i), providers.Mark{Mount: mount, Instance: "memory"}, time.Now().Add(-2*time.Hour))
			}
			e.cloud.Hook = func(step, _ string) error {
				if step == "delete-principal" {
					time.Sleep(1500 * time.Millisecond)
				}
				return nil
			}
			// 11 s: the first 16 removals start with more than the 10 s
			// margin left, and end with less.
			ctx, cancel := context.Background(), func() {}
			if budget {
				plugin.SetRequestBudget(t, 11*time.Second)
			} else {
				ctx, cancel = context.WithTimeout(ctx, 11*time.Second)
			}
			defer cancel()
			resp, err := e.DoCtx(ctx, logical.UpdateOperation, "tidy/memory", map[string]any{"dry_run": false})
			require.NoError(t, err)
			require.False(t, resp.IsError(), "%v", resp.Data)
			require.Len(t, orphanNames(t, resp.Data, "removed"), 16)
			failed := resp.Data["failed"].([]string)
			require.Len(t, failed, orphans-16)
			for _, f := range failed {
				require.Contains(t, f, "not attempted: the request's time is almost up")
			}
			require.NotEmpty(t, resp.Warnings)
			e.cloud.Hook = nil
			audit := e.OK(logical.ReadOperation, "audit/memory", nil)
			require.Len(t, audit.Data["orphans"], orphans-16, "what was not attempted is still an orphan")
		})
	}
}

// TestAuditAnswersBeforeTheDeadline: an inventory that would outlast the
// request is stopped 10 s before its deadline and answered with a 504
// that says so, instead of Vault cutting the request off.
func TestAuditAnswersBeforeTheDeadline(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 1})
	e.OK(logical.ReadOperation, "creds/memory/r", nil)
	e.cloud.Hook = func(step, _ string) error {
		if step == "list-principals" {
			time.Sleep(1500 * time.Millisecond)
		}
		return nil
	}
	for _, c := range []struct {
		op     logical.Operation
		path   string
		budget bool // Vault's way: no deadline on the context, the plugin's own clock
	}{
		{logical.ReadOperation, "audit/memory", true}, {logical.UpdateOperation, "tidy/memory", true},
		{logical.ReadOperation, "audit/memory", false}, {logical.UpdateOperation, "tidy/memory", false},
	} {
		t.Run(fmt.Sprintf("%s budget=%v", c.path, c.budget), func(t *testing.T) {
			// 11 s: the inventory gets 1 s and takes 1.5 s.
			ctx, cancel := context.Background(), func() {}
			if c.budget {
				plugin.SetRequestBudget(t, 11*time.Second)
			} else {
				ctx, cancel = context.WithTimeout(ctx, 11*time.Second)
			}
			defer cancel()
			start := time.Now()
			_, err := e.DoCtx(ctx, c.op, c.path, map[string]any{"dry_run": false})
			var coded logical.HTTPCodedError
			require.ErrorAs(t, err, &coded)
			require.Equal(t, 504, coded.Code())
			require.Contains(t, err.Error(), `list the objects of provider "memory": not finished 10s before the request's deadline`)
			require.Less(t, time.Since(start), 11*time.Second, "answered before the request's deadline")
		})
	}
	// An inventory that fails in time is the cloud's error (502), not a
	// timeout, even with a deadline.
	e.cloud.Hook = func(step, _ string) error {
		if step == "list-principals" {
			return errors.New("access denied")
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := e.DoCtx(ctx, logical.ReadOperation, "audit/memory", nil)
	var coded logical.HTTPCodedError
	require.ErrorAs(t, err, &coded)
	require.Equal(t, 502, coded.Code(), "%v", err)
	require.NotContains(t, err.Error(), "not finished")

	e.cloud.Hook = nil
	require.Equal(t, 1, e.OK(logical.ReadOperation, "audit/memory", nil).Data["held"])
}
