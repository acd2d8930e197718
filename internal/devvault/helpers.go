package devvault

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"os"
	"strings"
)

// CleanEnv is this process's environment without VAULT_* variables and
// those of the given prefixes (the clouds' own: cmd/clouds.EnvPrefixes), so
// a developer's own settings cannot redirect Vault, its engines, the
// plugin's ambient credentials or the CLI.
func CleanEnv(prefixes ...string) []string { return filterEnv(os.Environ(), prefixes...) }

func filterEnv(env []string, prefixes ...string) []string {
	prefixes = append([]string{"VAULT_"}, prefixes...)
	var out []string
next:
	for _, kv := range env {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FileSHA256 returns the hex sha256 of the file at path, as Vault's
// plugin catalog wants it.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CopyFile copies src to dst (created or truncated) with mode 0755, so a
// copied plugin binary is executable.
func CopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
