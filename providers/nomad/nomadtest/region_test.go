package nomadtest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/stretchr/testify/require"
)

// federation is a Server of regions "global" (authoritative) and "east",
// reached through an agent of east, with 5 s of ACL replication lag on a
// fake clock.
func federation(t *testing.T) (*TestServer, *fakeClock) {
	t.Helper()
	ts := Start(t, Options{Regions: []string{"global", "east"}, LocalRegion: "east", AuthoritativeRegion: "global", ReplicationLag: 5 * time.Second})
	clock := newFakeClock()
	ts.SetClock(clock.Now)
	return ts, clock
}

func inRegion(region string) *api.WriteOptions { return &api.WriteOptions{Region: region} }

func queryRegion(region string) *api.QueryOptions { return &api.QueryOptions{Region: region} }

func TestAgentSelf(t *testing.T) {
	cases := []struct {
		name          string
		opts          Options
		region        string
		server        bool
		authoritative string
	}{
		{"single region, authoritative unset", Options{}, "global", true, ""},
		{"non-authoritative server", Options{Regions: []string{"global", "east"}, LocalRegion: "east", AuthoritativeRegion: "global"}, "east", true, "global"},
		{"client agent", Options{Regions: []string{"global", "east"}, LocalRegion: "east", ClientAgent: true}, "east", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := Start(t, tc.opts)
			resp, body := rawDo(t, http.MethodGet, ts.URL+"/v1/agent/self?region=nowhere", ts.RootToken(), "")
			require.Equal(t, 200, resp.StatusCode, body)
			var self struct {
				Config struct {
					Region string
					Server struct {
						Enabled             bool
						AuthoritativeRegion string
					}
				} `json:"config"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &self))
			require.Equal(t, tc.region, self.Config.Region)
			require.Equal(t, tc.server, self.Config.Server.Enabled)
			require.Equal(t, tc.authoritative, self.Config.Server.AuthoritativeRegion)

			// The real client reads the region from the same answer.
			region, err := newClient(t, ts, ts.RootToken()).Agent().Region()
			require.NoError(t, err)
			require.Equal(t, tc.region, region)
		})
	}

	t.Run("needs agent:read", func(t *testing.T) {
		ts := Start(t, Options{})
		root := newClient(t, ts, ts.RootToken())
		_, err := root.ACLPolicies().Upsert(&api.ACLPolicy{Name: "agent-read", Rules: `agent { policy = "read" }`}, nil)
		require.NoError(t, err)
		plain := setupClientToken(t, root, "plain")
		reader, _, err := root.ACLTokens().Create(&api.ACLToken{Type: "client", Policies: []string{"agent-read"}}, nil)
		require.NoError(t, err)

		resp, body := rawDo(t, http.MethodGet, ts.URL+"/v1/agent/self", plain.SecretID, "")
		require.Equal(t, 403, resp.StatusCode)
		require.Equal(t, "Permission denied", body)
		resp, _ = rawDo(t, http.MethodGet, ts.URL+"/v1/agent/self", reader.SecretID, "")
		require.Equal(t, 200, resp.StatusCode)
		resp, _ = rawDo(t, http.MethodGet, ts.URL+"/v1/agent/self", "", "")
		require.Equal(t, 403, resp.StatusCode, "the anonymous token has no agent:read")
		resp, _ = rawDo(t, http.MethodPut, ts.URL+"/v1/agent/self", ts.RootToken(), "")
		require.Equal(t, 405, resp.StatusCode)
	})
}

func TestUnknownRegion(t *testing.T) {
	ts, _ := federation(t)
	_, _, err := newClient(t, ts, ts.RootToken()).ACLTokens().List(queryRegion("west"))
	requireAPIError(t, err, 500, "No path to region")
}

// A global token is made in the authoritative region and reaches the other
// regions only after the replication lag; a local token stays in its region.
func TestGlobalTokenReplication(t *testing.T) {
	ts, clock := federation(t)
	root := newClient(t, ts, ts.RootToken()) // an agent of east
	tok, _, err := root.ACLTokens().Create(&api.ACLToken{Name: "g", Type: "management", Global: true}, nil)
	require.NoError(t, err)

	_, ok := ts.TokenIn("global", tok.AccessorID)
	require.True(t, ok, "created in the authoritative region even when asked through east")
	_, ok = ts.TokenIn("east", tok.AccessorID)
	require.False(t, ok, "not replicated yet")
	_, _, err = root.ACLTokens().Info(tok.AccessorID, nil)
	requireAPIError(t, err, 404, "ACL token not found")
	list, _, err := root.ACLTokens().List(nil)
	require.NoError(t, err)
	require.Len(t, list, 1, "east lists only the bootstrap token")
	_, _, err = newClient(t, ts, tok.SecretID).ACLTokens().Self(nil)
	requireAPIError(t, err, 403, "Permission denied")
	got, _, err := root.ACLTokens().Info(tok.AccessorID, queryRegion("global"))
	require.NoError(t, err)
	require.Equal(t, tok.SecretID, got.SecretID, "a management caller reads the secret by accessor")

	clock.Advance(5 * time.Second)
	_, ok = ts.TokenIn("east", tok.AccessorID)
	require.True(t, ok, "replicated after the lag")
	_, _, err = newClient(t, ts, tok.SecretID).ACLTokens().Self(nil)
	require.NoError(t, err)
	require.Equal(t, 2, ts.State()["tokens"], "a global token counts once")

	local, _, err := root.ACLTokens().Create(&api.ACLToken{Name: "l", Type: "management"}, nil)
	require.NoError(t, err)
	_, ok = ts.TokenIn("east", local.AccessorID)
	require.True(t, ok)
	clock.Advance(time.Minute)
	_, ok = ts.TokenIn("global", local.AccessorID)
	require.False(t, ok, "a local token is never replicated")
	_, err = root.ACLTokens().Delete(local.AccessorID, inRegion("global"))
	requireAPIError(t, err, 400, "Cannot delete nonexistent tokens: "+local.AccessorID)
	_, err = root.ACLTokens().Delete(local.AccessorID, nil)
	require.NoError(t, err)
}

// Deleting a global token through a region that has not replicated it yet
// answers "nonexistent" while it lives on; through the authoritative
// region (or once replicated, forwarded there) it is deleted, and the
// other regions lose it after the lag.
func TestGlobalTokenDeleteBeforeReplication(t *testing.T) {
	ts, clock := federation(t)
	root := newClient(t, ts, ts.RootToken())
	tok, _, err := root.ACLTokens().Create(&api.ACLToken{Name: "g", Type: "client", Policies: []string{"p"}, Global: true}, nil)
	require.NoError(t, err)

	_, err = root.ACLTokens().Delete(tok.AccessorID, nil)
	requireAPIError(t, err, 400, "Cannot delete nonexistent tokens: "+tok.AccessorID)
	_, ok := ts.TokenIn("global", tok.AccessorID)
	require.True(t, ok, "the token lives on in the authoritative region")

	clock.Advance(5 * time.Second)
	_, err = root.ACLTokens().Delete(tok.AccessorID, nil)
	require.NoError(t, err, "replicated now: east forwards the delete")
	_, ok = ts.TokenIn("global", tok.AccessorID)
	require.False(t, ok)
	_, ok = ts.TokenIn("east", tok.AccessorID)
	require.True(t, ok, "east still has its replica until replication catches up")
	clock.Advance(5 * time.Second)
	_, ok = ts.TokenIn("east", tok.AccessorID)
	require.False(t, ok)

	tok2, _, err := root.ACLTokens().Create(&api.ACLToken{Name: "g2", Type: "client", Policies: []string{"p"}, Global: true}, nil)
	require.NoError(t, err)
	_, err = root.ACLTokens().Delete(tok2.AccessorID, inRegion("global"))
	require.NoError(t, err, "the authoritative region deletes at once")
	_, err = root.ACLTokens().Delete(tok2.AccessorID, inRegion("global"))
	requireAPIError(t, err, 400, "Cannot delete nonexistent tokens: "+tok2.AccessorID)
	clock.Advance(5 * time.Second)
	require.Equal(t, 1, ts.State()["tokens"])
}
