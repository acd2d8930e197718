// Command multicloud-demo is `make demo` and `make dev`: it starts the real
// Vault server in dev mode, the emulated clouds and the plugin (registered
// by sha256 and version), configures aws, ncloud and nomad, and walks
// through issue, use, renew, revoke and `vault lease revoke -prefix`,
// printing each command and what the clouds hold before and after.
//
// With -stay it leaves the stack running and prints the environment to use
// it, until interrupted. Secrets are never printed: secret keys and tokens
// are masked.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/devvault"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

const (
	mount      = "multicloud"
	pluginName = "vault-plugin-secrets-multicloud"
)

type demo struct {
	bin, version string
	ep           emulator.Endpoints
	emulator     *exec.Cmd
	vault        *devvault.Server
	secrets      []string
}

func main() {
	bin := flag.String("bin", "bin", "directory with vault, cloud-emulator and the plugin binary")
	version := flag.String("version", "v0.1.0", "version the plugin binary was built with")
	stay := flag.Bool("stay", false, "leave the stack running (make dev)")
	flag.Parse()
	d := &demo{bin: *bin, version: *version}
	err := d.run(*stay)
	d.stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", d.mask(err.Error()))
		os.Exit(1)
	}
}

func (d *demo) run(stay bool) error {
	if err := d.start(); err != nil {
		return err
	}
	if err := d.tour(); err != nil {
		return err
	}
	if !stay {
		section("Done: every credential issued by the demo is gone from its cloud; stopping Vault and the emulators.")
		return nil
	}
	section("The stack is up. In another shell:")
	fmt.Printf("  export VAULT_ADDR=%s VAULT_TOKEN=%s\n", d.vault.Addr, d.vault.Token)
	fmt.Printf("  export PATH=%s:$PATH\n", must(filepath.Abs(d.bin)))
	fmt.Printf("  vault read %s/providers\n  vault read %s/creds/aws/ci\n", mount, mount)
	fmt.Printf("  curl %s/state   # aws objects\n  curl %s/state   # ncloud objects\n  curl %s/state   # nomad objects\n", d.ep.AWS.Admin, d.ep.Ncloud.Admin, d.ep.Nomad.Admin)
	fmt.Println("Press Ctrl-C to stop.")
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-ctx.Done()
	return nil
}

// start launches the emulators and Vault, and registers and mounts the plugin.
func (d *demo) start() error {
	section("Starting the emulated clouds (cmd/cloud-emulator)")
	em := exec.Command(filepath.Join(d.bin, "cloud-emulator"), "-listen-host", "127.0.0.1")
	out, err := em.StdoutPipe()
	if err != nil {
		return err
	}
	em.Stderr = os.Stderr
	if err := devvault.StartProcess(em); err != nil {
		return err
	}
	d.emulator = em
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("reading the emulator's endpoints: %w", err)
	}
	if err := json.Unmarshal(line, &d.ep); err != nil {
		return err
	}
	d.secrets = append(d.secrets, d.ep.AWS.SecretKey, d.ep.Ncloud.SecretKey, d.ep.Nomad.Token)
	fmt.Printf("  aws    IAM+STS      %s\n  ncloud STS+SubAcct  %s\n  nomad  ACL          %s\n", d.ep.AWS.IAMEndpoint, d.ep.Ncloud.STSEndpoint, d.ep.Nomad.Address)

	section("Starting Vault (dev mode) with the plugin directory")
	logf, err := os.CreateTemp("", "multicloud-vault-*.log")
	if err != nil {
		return err
	}
	logf.Close()
	if d.vault, err = devvault.Start(context.Background(), devvault.Options{
		VaultBin: filepath.Join(d.bin, "vault"),
		Plugins:  []string{filepath.Join(d.bin, pluginName)},
		LogPath:  logf.Name(),
		Token:    "demo-root",
	}); err != nil {
		return err
	}
	fmt.Printf("  %s, log in %s\n", d.vault.Addr, d.vault.LogPath)

	section("Registering the plugin by sha256 and version, and mounting it")
	sum, err := devvault.FileSHA256(filepath.Join(d.vault.PluginDir, pluginName))
	if err != nil {
		return err
	}
	if err := d.cli("plugin", "register", "-sha256="+sum, "-version="+d.version, "secret", pluginName); err != nil {
		return err
	}
	return d.cli("secrets", "enable", "-path="+mount, "-plugin-version="+d.version, pluginName)
}

// tour configures the three providers and walks through a credential's life.
func (d *demo) tour() error {
	section("Configuring the three providers (secrets are never read back)")
	steps := [][]string{
		{"write", mount + "/config/aws", "access_key=" + d.ep.AWS.AccessKey, "secret_key=" + d.ep.AWS.SecretKey, "region=us-east-1",
			"iam_endpoint=" + d.ep.AWS.IAMEndpoint, "sts_endpoint=" + d.ep.AWS.STSEndpoint},
		{"write", mount + "/config/ncloud", "access_key=" + d.ep.Ncloud.AccessKey, "secret_key=" + d.ep.Ncloud.SecretKey,
			"sts_endpoint=" + d.ep.Ncloud.STSEndpoint, "subaccount_endpoint=" + d.ep.Ncloud.SubAccountEndpoint},
		{"write", mount + "/config/nomad", "address=" + d.ep.Nomad.Address, "token=" + d.ep.Nomad.Token},
		{"read", mount + "/config/aws"},
	}
	for _, s := range steps {
		if err := d.cli(s...); err != nil {
			return err
		}
	}
	if err := d.nomadPolicy("readonly", `namespace "default" { policy = "read" }`); err != nil {
		return err
	}

	section("Roles: an IAM user with a managed policy, an Ncloud STS key, a revocable Ncloud sub account, a Nomad token")
	for _, s := range [][]string{
		{"write", mount + "/roles/aws/ci", "credential_type=iam_user", "policy_arns=arn:aws:iam::aws:policy/ReadOnlyAccess", "ttl=10m", "max_ttl=1h"},
		{"write", mount + "/roles/ncloud/ci", "credential_type=sts", "ttl=15m", "max_ttl=1h"},
		{"write", mount + "/roles/ncloud/sub", "credential_type=sub_account", "policies=NCP_INFRA_MANAGER", "ttl=10m"},
		{"write", mount + "/roles/nomad/ci", "policies=readonly", "expiration_ttl=1h", "ttl=10m"},
	} {
		if err := d.cli(s...); err != nil {
			return err
		}
	}

	for _, p := range []struct{ provider, role string }{{"aws", "ci"}, {"ncloud", "ci"}, {"ncloud", "sub"}, {"nomad", "ci"}} {
		section(fmt.Sprintf("%s/%s: issue, renew, revoke", p.provider, p.role))
		if err := d.showState(p.provider, "before"); err != nil {
			return err
		}
		lease, err := d.issue(p.provider, p.role)
		if err != nil {
			return err
		}
		if err := d.showState(p.provider, "after issue"); err != nil {
			return err
		}
		if err := d.cli("lease", "renew", "-increment=20m", lease); err != nil {
			return err
		}
		if err := d.cli("lease", "revoke", "-sync", lease); err != nil {
			return err
		}
		if err := d.showState(p.provider, "after revoke"); err != nil {
			return err
		}
	}

	section("vault lease revoke -prefix: five live AWS credentials of one role, gone in one command")
	for range 5 {
		if _, err := d.issue("aws", "ci"); err != nil {
			return err
		}
	}
	if err := d.showState("aws", "with 5 live leases"); err != nil {
		return err
	}
	if err := d.cli("lease", "revoke", "-prefix", mount+"/creds/aws/ci"); err != nil {
		return err
	}
	base, err := d.state("aws")
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for base["users"] > 1 {
		if time.Now().After(deadline) {
			return errors.New("the prefix revocation did not finish within 60s")
		}
		time.Sleep(300 * time.Millisecond)
		if base, err = d.state("aws"); err != nil {
			return err
		}
	}
	return d.showState("aws", "after the asynchronous revoke -prefix")
}

// issue reads creds and prints the lease, masking the secret parts.
func (d *demo) issue(provider, role string) (string, error) {
	out, err := d.vaultOut("read", "-format=json", mount+"/creds/"+provider+"/"+role)
	if err != nil {
		return "", err
	}
	var sec struct {
		LeaseID       string         `json:"lease_id"`
		LeaseDuration int            `json:"lease_duration"`
		Renewable     bool           `json:"renewable"`
		Data          map[string]any `json:"data"`
		Warnings      []string       `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &sec); err != nil {
		return "", err
	}
	fmt.Printf("  lease_id       %s\n  lease_duration %ds  renewable %v\n", sec.LeaseID, sec.LeaseDuration, sec.Renewable)
	keys := make([]string, 0, len(sec.Data))
	for k := range sec.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := fmt.Sprint(sec.Data[k])
		if secretField(k) {
			d.secrets = append(d.secrets, s)
			s = maskValue(s)
		}
		fmt.Printf("  %-14s %s\n", k, s)
	}
	for _, w := range sec.Warnings {
		fmt.Printf("  warning: %s\n", w)
	}
	return sec.LeaseID, nil
}

func secretField(k string) bool {
	return strings.Contains(k, "secret") || strings.Contains(k, "token") && k != "token_name"
}

// maskValue hides a secret entirely: not even a prefix is shown.
func maskValue(string) string { return "********" }

// cli runs the vault CLI, printing the command and its (masked) output.
func (d *demo) cli(args ...string) error {
	out, err := d.vaultOut(args...)
	if strings.TrimSpace(out) != "" {
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			fmt.Println("    " + l)
		}
	}
	return err
}

func (d *demo) vaultOut(args ...string) (string, error) {
	fmt.Println("$ vault " + d.mask(strings.Join(args, " ")))
	out, exit, err := d.vault.CLI(context.Background(), args...)
	if err == nil && exit != 0 {
		err = fmt.Errorf("exit status %d", exit)
	}
	if err != nil {
		return "", fmt.Errorf("vault %s: %v: %s", args[0], err, d.mask(out))
	}
	return d.mask(out), nil
}

func (d *demo) mask(s string) string {
	for _, sec := range d.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, maskValue(sec))
		}
	}
	return s
}

func (d *demo) state(provider string) (map[string]int, error) {
	admin := map[string]string{"aws": d.ep.AWS.Admin, "ncloud": d.ep.Ncloud.Admin, "nomad": d.ep.Nomad.Admin}[provider]
	resp, err := http.Get(admin + "/state")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st map[string]int
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (d *demo) showState(provider, when string) error {
	st, err := d.state(provider)
	if err != nil {
		return err
	}
	keys := map[string][]string{
		"aws":    {"users", "access_keys", "attached_policies"},
		"ncloud": {"sub_accounts", "access_keys", "sts_keys"},
		"nomad":  {"tokens", "policies"},
	}[provider]
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, st[k]))
	}
	fmt.Printf("  [%s cloud %s] %s\n", provider, when, strings.Join(parts, " "))
	return nil
}

func (d *demo) nomadPolicy(name, rules string) error {
	body, _ := json.Marshal(map[string]string{"Name": name, "Rules": rules})
	req, err := http.NewRequest(http.MethodPut, d.ep.Nomad.Address+"/v1/acl/policy/"+name, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("X-Nomad-Token", d.ep.Nomad.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("nomad policy %s: %s: %s", name, resp.Status, b)
	}
	fmt.Printf("  (nomad) ACL policy %q created in the emulator\n", name)
	return nil
}

// stop ends Vault and the emulator (their whole process groups, so
// Vault's plugin processes go too) and removes Vault's temporary
// directories.
func (d *demo) stop() {
	d.vault.Stop()
	if d.emulator != nil {
		devvault.StopProcess(d.emulator, devvault.StopGrace)
	}
}

func section(s string) { fmt.Printf("\n== %s\n", s) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
