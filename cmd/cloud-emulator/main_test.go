package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// TestServesAllThreeAndStopsOnSIGTERM builds the binary, reads its JSON
// line, checks every admin state endpoint, and stops it with SIGTERM.
func TestServesAllThreeAndStopsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cloud-emulator")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	cmd := exec.Command(bin, "-listen-host", "127.0.0.1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	line, err := bufio.NewReader(out).ReadBytes('\n')
	require.NoError(t, err)
	var info emulator.Endpoints
	require.NoError(t, json.Unmarshal(line, &info))
	require.NotEmpty(t, info.AWS.AccessKey)
	require.NotEmpty(t, info.Ncloud.SecretKey)
	require.NotEmpty(t, info.Nomad.Token)

	cases := []struct {
		name, admin string
		keys        []string
	}{
		{"aws", info.AWS.Admin, []string{"users", "access_keys", "groups", "policies"}},
		{"ncloud", info.Ncloud.Admin, []string{"sub_accounts", "access_keys", "sts_keys"}},
		{"nomad", info.Nomad.Admin, []string{"tokens", "policies", "roles"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(tc.admin + "/state")
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var state map[string]int
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&state))
			for _, k := range tc.keys {
				require.Contains(t, state, k)
			}
		})
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "exits 0 on SIGTERM")
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
}
