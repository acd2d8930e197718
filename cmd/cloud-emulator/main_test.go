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

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/cmd/clouds"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// TestServesEveryCloudAndStopsOnSIGTERM builds the binary, reads its JSON
// line, checks every cloud's config and admin state endpoint, and stops it
// with SIGTERM.
func TestServesEveryCloudAndStopsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cloud-emulator")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	cmd := exec.Command(bin, "-listen-host", "127.0.0.1", "-opt", "aws.page_size=100")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	line, err := bufio.NewReader(out).ReadBytes('\n')
	require.NoError(t, err)
	var info emulator.Endpoints
	require.NoError(t, json.Unmarshal(line, &info))
	require.Len(t, info, len(clouds.All()))
	for _, c := range clouds.All() {
		t.Run(c.Name(), func(t *testing.T) {
			ep, ok := info[c.Name()]
			require.True(t, ok)
			require.NotEmpty(t, ep.Config)
			require.NotEmpty(t, ep.Roles)
			resp, err := http.Get(ep.Admin + "/state")
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var state map[string]int
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&state))
			require.NotEmpty(t, state)
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

// TestBadFlags: an unknown cloud or option is refused before anything is
// served.
func TestBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-port", "gcp=9000"}, `unknown cloud "gcp"`},
		{[]string{"-opt", "gcp.x=1"}, `unknown cloud "gcp"`},
		{[]string{"-opt", "aws.colour=red"}, `unknown option "colour"`},
		{[]string{"-opt", "aws=1"}, "want <cloud>.<option>=<value>"},
		{[]string{"-port", "aws"}, "want name=value"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			require.ErrorContains(t, run(tc.args), tc.want)
		})
	}
}
