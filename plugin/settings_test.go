package plugin_test

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"
)

func TestSettingsWALRollbackMinAge(t *testing.T) {
	cases := []struct {
		name    string
		value   any
		wantErr string
		warning string
		want    int64
	}{
		{name: "default", want: 300},
		{name: "ten minutes", value: "10m", want: 600},
		{name: "seconds below the request timeout warn", value: 10, want: 10, warning: "below Vault's request timeout"},
		{name: "zero is refused", value: 0, wantErr: "must be between 1s and 24h0m0s"},
		{name: "too long is refused", value: "25h", wantErr: "must be between 1s and 24h0m0s"},
		{name: "not a duration", value: "soon", wantErr: "wal_rollback_min_age"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.value != nil {
				data := map[string]any{"wal_rollback_min_age": tc.value}
				if tc.wantErr != "" {
					e.BadRequest(logical.UpdateOperation, "settings", data, tc.wantErr)
					tc.want = 300
				} else {
					resp := e.OK(logical.UpdateOperation, "settings", data)
					if tc.warning != "" {
						require.NotNil(t, resp)
						require.Contains(t, resp.Warnings[0], tc.warning)
					} else {
						require.Nil(t, resp)
					}
				}
			}
			got := e.OK(logical.ReadOperation, "settings", nil)
			require.EqualValues(t, tc.want, got.Data["wal_rollback_min_age"])
		})
	}
}

// TestRollbackMinAgeSetting: the rollback manager's periodic run undoes an
// unfinished create only once its WAL entry is older than the setting.
func TestRollbackMinAgeSetting(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 3})
	e.OK(logical.UpdateOperation, "settings", map[string]any{"wal_rollback_min_age": 2})

	// A create that dies after its first object, as if the process died.
	e.crashIssue()
	require.Len(t, e.cloud.Objects(), 1)

	periodic := func() {
		_, err := e.B.HandleRequest(context.Background(), &logical.Request{Operation: logical.RollbackOperation, Storage: e.Storage})
		require.NoError(t, err)
	}
	periodic()
	require.Equal(t, 1, e.WALCount(), "a young entry is kept")
	require.Len(t, e.cloud.Objects(), 1)

	time.Sleep(3100 * time.Millisecond)
	periodic()
	require.Equal(t, 0, e.WALCount(), "an entry older than wal_rollback_min_age is rolled back")
	require.Empty(t, e.cloud.Objects())
}

// TestRollbackSkipsCreatesInFlight: even an immediate rollback leaves alone
// the WAL entry of a create still running on this node.
func TestRollbackSkipsCreatesInFlight(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 3})
	reached, release := make(chan struct{}), make(chan struct{})
	e.cloud.Hook = func(step, _ string) error {
		if step == "attach-1" {
			close(reached)
			<-release
		}
		return nil
	}
	done := make(chan *logical.Response)
	go func() {
		resp, err := e.Do(logical.ReadOperation, "creds/memory/r", nil)
		if err != nil {
			resp = nil
		}
		done <- resp
	}()
	<-reached
	require.NoError(t, e.Rollback())
	require.Equal(t, 1, e.WALCount(), "the running create's entry is kept")
	require.Len(t, e.cloud.Objects(), 1, "the running create's object is not rolled back")
	close(release)
	resp := <-done
	require.NotNil(t, resp, "the create finishes")
	require.NotNil(t, resp.Secret)
	require.Equal(t, 0, e.WALCount())
	require.Len(t, e.cloud.Objects(), 1)
}

// TestMountIDFromTheStart: the mount id exists as soon as the mount is
// initialized, before any credential, and survives a restart unchanged.
func TestMountIDFromTheStart(t *testing.T) {
	e := newEnv(t)
	id := e.OK(logical.ReadOperation, "settings", nil).Data["mount_id"].(string)
	require.Regexp(t, `^[a-z2-7]{8}$`, id)
	e.restart()
	require.Equal(t, id, e.OK(logical.ReadOperation, "settings", nil).Data["mount_id"])
}

func TestSettingsRequestTimeout(t *testing.T) {
	cases := []struct {
		name    string
		value   any
		wantErr string
		want    int64
	}{
		{name: "default", want: 90},
		{name: "two minutes", value: "2m", want: 120},
		{name: "the least", value: 20, want: 20},
		{name: "too short is refused", value: "19s", wantErr: "request_timeout: must be between 20s and 1h0m0s"},
		{name: "too long is refused", value: "2h", wantErr: "request_timeout: must be between 20s and 1h0m0s"},
		{name: "not a duration", value: "soon", wantErr: "request_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.value != nil {
				data := map[string]any{"request_timeout": tc.value}
				if tc.wantErr != "" {
					e.BadRequest(logical.UpdateOperation, "settings", data, tc.wantErr)
					tc.want = 90
				} else {
					require.Nil(t, e.OK(logical.UpdateOperation, "settings", data))
				}
			}
			got := e.OK(logical.ReadOperation, "settings", nil)
			require.EqualValues(t, tc.want, got.Data["request_timeout"])
		})
	}
}

// TestRequestTimeoutBoundsAudit: audit answers 10 s before the mount's
// request_timeout, counted by the plugin (Vault passes no deadline).
func TestRequestTimeoutBoundsAudit(t *testing.T) {
	e := newEnv(t)
	e.setup(map[string]any{"parts": 1})
	e.OK(logical.ReadOperation, "creds/memory/r", nil)
	e.OK(logical.UpdateOperation, "settings", map[string]any{"request_timeout": "20s"})
	e.cloud.Hook = func(step, _ string) error {
		if step == "list-principals" {
			time.Sleep(10500 * time.Millisecond) // past 20s - 10s
		}
		return nil
	}
	start := time.Now()
	_, err := e.Do(logical.ReadOperation, "audit/memory", nil)
	var coded logical.HTTPCodedError
	require.ErrorAs(t, err, &coded)
	require.Equal(t, 504, coded.Code())
	require.Less(t, time.Since(start), 20*time.Second)
}
