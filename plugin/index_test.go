package plugin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"
)

// TestLiveIndex: every issued credential is in the index until its revoke,
// the listings show it without secrets, and a rolled-back create leaves no
// entry.
func TestLiveIndex(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2, "ttl": "10m", "max_ttl": "1h"})
	e.OK(logical.UpdateOperation, "roles/memory/other", map[string]any{"parts": 1})

	first := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	second := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	third := e.OK(logical.ReadOperation, "creds/memory/other", nil)

	roles := e.OK(logical.ListOperation, "creds/memory/", nil)
	require.Equal(t, []string{"other", "r"}, roles.Data["keys"])

	list := e.OK(logical.ListOperation, "creds/memory/r/", nil)
	keys := list.Data["keys"].([]string)
	require.Len(t, keys, 2)
	info := list.Data["key_info"].(map[string]any)
	names := map[string]bool{}
	for _, k := range keys {
		item := info[k].(map[string]any)
		require.Equal(t, "key", item["credential_type"])
		require.Equal(t, "memory:memory://:000000000000", item["target"])
		issued, err := time.Parse(time.RFC3339, item["issue_time"].(string))
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), issued, time.Minute)
		expires, err := time.Parse(time.RFC3339, item["expire_time"].(string))
		require.NoError(t, err)
		require.InDelta(t, (10 * time.Minute).Seconds(), expires.Sub(issued).Seconds(), 1)
		maxExp, err := time.Parse(time.RFC3339, item["max_expire_time"].(string))
		require.NoError(t, err)
		require.InDelta(t, time.Hour.Seconds(), maxExp.Sub(issued).Seconds(), 1)
		objs := item["objects"].([]map[string]any)
		require.Len(t, objs, 1)
		names[objs[0]["name"].(string)] = true
	}
	require.Equal(t, map[string]bool{first.Data["access_key"].(string): true, second.Data["access_key"].(string): true}, names)

	// No issued secret is stored anywhere: not in the index, not elsewhere.
	dump := e.StorageDump()
	for _, resp := range []*logical.Response{first, second, third} {
		for k, v := range dump {
			require.NotContains(t, v, resp.Data["secret_key"].(string), "secret stored at %s", k)
		}
	}

	// Renew records the lease's new expiry.
	_, err := e.Renew(first.Secret, 30*time.Minute, time.Now())
	require.NoError(t, err)
	list = e.OK(logical.ListOperation, "creds/memory/r/", nil)
	for _, item := range list.Data["key_info"].(map[string]any) {
		m := item.(map[string]any)
		if m["objects"].([]map[string]any)[0]["name"] != first.Data["access_key"] {
			continue
		}
		exp, _ := time.Parse(time.RFC3339, m["expire_time"].(string))
		require.InDelta(t, 30*time.Minute.Seconds(), time.Until(exp).Seconds(), 5)
	}

	// Revoke removes the entry; a second revoke finds nothing to remove.
	for _, resp := range []*logical.Response{first, second} {
		_, err := e.Revoke(resp.Secret)
		require.NoError(t, err)
	}
	_, err = e.Revoke(first.Secret)
	require.NoError(t, err)
	roles = e.OK(logical.ListOperation, "creds/memory/", nil)
	require.Equal(t, []string{"other"}, roles.Data["keys"])
	resp, err := e.Do(logical.ListOperation, "creds/memory/r/", nil)
	require.NoError(t, err)
	require.Empty(t, resp.Data["keys"])
}

// TestLiveIndexAfterCrash: a create that died leaves a WAL entry; its
// rollback removes both the objects and any index entry of that create.
func TestLiveIndexAfterCrash(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2})
	e.crashIssue()
	require.Equal(t, 1, e.WALCount())
	require.NoError(t, e.Rollback())
	require.Empty(t, e.cloud.Objects())
	keys, err := e.Storage.List(context.Background(), "live/")
	require.NoError(t, err)
	require.Empty(t, keys)
}

// TestNoSecretsInInternalData: the plugin compares the lease's internal
// data with the credential's secret values, not its key names.
func TestNoSecretsInInternalData(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 1, "note": "rsa-2048"})
	resp := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	require.Contains(t, mustJSON(t, resp.Secret.InternalData), "private_key_type",
		"a harmless key whose name looks like a secret's is stored")

	e.OK(logical.UpdateOperation, "roles/memory/leaky", map[string]any{"parts": 1, "leak": true})
	_, err := e.Do(logical.ReadOperation, "creds/memory/leaky", nil)
	require.ErrorContains(t, err, `holds the value of the credential's field "secret_key"`)
	require.Len(t, e.cloud.Objects(), 1, "the leaky credential was revoked at once; only the first one lives")
	require.Equal(t, 0, e.WALCount())
	roles := e.OK(logical.ListOperation, "creds/memory/", nil)
	require.Equal(t, []string{"r"}, roles.Data["keys"])
}

// TestLeaseCappedAfterCreate: a cloud expiry is counted from when the
// create finished, so a slow create does not let the lease outlive the
// credential.
func TestLeaseCappedAfterCreate(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 2, "lifetime": "20s", "ttl": "1h", "max_ttl": "1h"})
	e.cloud.Hook = func(step, _ string) error {
		if step == "attach-1" {
			time.Sleep(1500 * time.Millisecond)
		}
		return nil
	}
	resp := e.OK(logical.ReadOperation, "creds/memory/r", nil)
	obj, _ := e.cloud.Object(resp.Data["access_key"].(string))
	require.LessOrEqual(t, resp.Secret.MaxTTL, time.Until(obj.Expiry)+time.Second,
		"the lease ends no later than the credential")
	require.LessOrEqual(t, resp.Secret.MaxTTL, 19*time.Second)
}

// TestRoleWriteWaitsForConfigDelete: a role write and a config delete of
// the same instance do not interleave, so no role outlives its config.
func TestRoleWriteWaitsForConfigDelete(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "config/memory", nil)
	reached, release := make(chan struct{}), make(chan struct{})
	e.cloud.Hook = func(step, role string) error {
		if step == "validate" && role == "slow" {
			close(reached)
			<-release
		}
		return nil
	}
	roleDone := make(chan error)
	go func() {
		_, err := e.Do(logical.UpdateOperation, "roles/memory/slow", map[string]any{"parts": 1})
		roleDone <- err
	}()
	<-reached
	deleteDone := make(chan *logical.Response)
	go func() {
		resp, _ := e.Do(logical.DeleteOperation, "config/memory", nil)
		deleteDone <- resp
	}()
	select {
	case <-deleteDone:
		t.Fatal("the config delete ran while a role write of the instance was in progress")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-roleDone)
	resp := <-deleteDone
	require.NotNil(t, resp)
	require.True(t, resp.IsError())
	require.True(t, strings.Contains(resp.Error().Error(), "still has 1 role"), resp.Error().Error())
}

// TestRotateRootAbortSurvivesCancellation: when storing the rotated config
// fails on a cancelled request, the new root credential is still deleted.
func TestRotateRootAbortSurvivesCancellation(t *testing.T) {
	e := newEnv(t)
	e.OK(logical.UpdateOperation, "config/memory", map[string]any{"access_key": "root", "secret_key": "s3cr3t-root"})
	e.cloud.FailOpen = true
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = e.B.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "config/memory/rotate-root", Storage: e.Storage})
	require.Equal(t, 1, e.cloud.Calls("rotate-abort"), "the new credential was deleted despite the cancelled request")
}
