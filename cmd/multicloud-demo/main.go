// Command multicloud-demo is `make demo` and `make dev`: it starts the real
// Vault server in dev mode, the emulated clouds and the plugin (registered
// by sha256 and version), configures every cloud of cmd/clouds, and walks
// through issue, use, renew, revoke, the index of live credentials, audit
// and `vault lease revoke -prefix`, printing each command and what the
// clouds hold before and after.
//
// With -stay it leaves the stack running and prints the environment to use
// it, until interrupted. Secrets are never printed: every field a driver
// declares secret is masked.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/cmd/clouds"
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
	fmt.Printf("  vault read %s/providers\n", mount)
	for _, c := range clouds.All() {
		fmt.Printf("  vault read %s/creds/%s/%s\n  curl %s/state   # %s objects\n", mount, c.Name(), d.ep[c.Name()].Roles[0].Name, d.ep[c.Name()].Admin, c.Name())
	}
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
	for _, c := range clouds.All() {
		ep, ok := d.ep[c.Name()]
		if !ok {
			return fmt.Errorf("the emulator does not serve %s", c.Name())
		}
		for _, f := range c.Driver().Info().ConfigFields {
			if v, ok := ep.Config[f.Name].(string); ok && f.Secret {
				d.secrets = append(d.secrets, v)
			}
		}
		fmt.Printf("  %-8s %-20s %s\n", c.Name(), c.Title(), strings.TrimSuffix(ep.Admin, emulator.AdminPrefix))
	}

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
		// The clouds' own variables would redirect the plugin's ambient
		// credentials; the demo uses the emulators only.
		CleanEnvPrefixes: clouds.EnvPrefixes(),
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

// tour configures every cloud and walks through a credential's life.
func (d *demo) tour() error {
	section("Configuring every provider (secrets are never read back)")
	for _, c := range clouds.All() {
		if err := d.cli(append([]string{"write", mount + "/config/" + c.Name()}, kv(d.ep[c.Name()].Config)...)...); err != nil {
			return err
		}
	}
	if err := d.cli("read", mount+"/config/"+clouds.All()[0].Name()); err != nil {
		return err
	}

	section("Roles")
	for _, c := range clouds.All() {
		for _, r := range d.ep[c.Name()].Roles {
			fmt.Printf("  (%s/%s: %s)\n", c.Name(), r.Name, r.Title)
			if err := d.cli(append([]string{"write", mount + "/roles/" + c.Name() + "/" + r.Name}, kv(r.Fields)...)...); err != nil {
				return err
			}
		}
	}

	for _, c := range clouds.All() {
		for _, r := range d.ep[c.Name()].Roles {
			if err := d.lifecycle(c, r); err != nil {
				return err
			}
		}
	}
	if err := d.revokePrefix(); err != nil {
		return err
	}

	section("Audit: in no cloud an object this mount made that no lease holds")
	for _, c := range clouds.All() {
		if err := d.cli("read", "-format=json", "-field=orphans", mount+"/audit/"+c.Name()); err != nil {
			return err
		}
	}
	return nil
}

// lifecycle issues a credential of one role, uses it, lists it, renews and
// revokes it.
func (d *demo) lifecycle(c clouds.Cloud, r emulator.Role) error {
	p := c.Name()
	section(fmt.Sprintf("%s/%s: issue, use, renew, revoke", p, r.Name))
	before, err := d.showState(p, "before")
	if err != nil {
		return err
	}
	lease, data, err := d.issue(p, r.Name)
	if err != nil {
		return err
	}
	if err := c.Use(d.ep[p].Config, data); err != nil {
		return fmt.Errorf("using the %s credential: %w", p, err)
	}
	fmt.Printf("  (the credential works: %s accepted it)\n", c.Title())
	if _, err := d.showState(p, "after issue"); err != nil {
		return err
	}
	if err := d.cli("list", mount+"/creds/"+p+"/"+r.Name+"/"); err != nil {
		return err
	}
	if err := d.cli("lease", "renew", "-increment=20m", lease); err != nil {
		return err
	}
	if err := d.cli("lease", "revoke", "-sync", lease); err != nil {
		return err
	}
	after, err := d.showState(p, "after revoke")
	if err != nil {
		return err
	}
	if r.Revocable && !reflect.DeepEqual(before, after) {
		return fmt.Errorf("%s/%s: the revoke left objects in the cloud", p, r.Name)
	}
	return nil
}

// revokePrefix shows `vault lease revoke -prefix` on five credentials of
// the first revocable role.
func (d *demo) revokePrefix() error {
	for _, c := range clouds.All() {
		p := c.Name()
		i := slices.IndexFunc(d.ep[p].Roles, func(r emulator.Role) bool { return r.Revocable })
		if i < 0 {
			continue
		}
		role := d.ep[p].Roles[i].Name
		section(fmt.Sprintf("vault lease revoke -prefix: five live %s credentials of one role, gone in one command", p))
		base, err := d.state(p)
		if err != nil {
			return err
		}
		for range 5 {
			if _, _, err := d.issue(p, role); err != nil {
				return err
			}
		}
		if _, err := d.showState(p, "with 5 live leases"); err != nil {
			return err
		}
		if err := d.cli("lease", "revoke", "-prefix", mount+"/creds/"+p+"/"+role); err != nil {
			return err
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			st, err := d.state(p)
			if err != nil {
				return err
			}
			if maps.Equal(st, base) {
				break
			}
			if time.Now().After(deadline) {
				return errors.New("the prefix revocation did not finish within 60s")
			}
			time.Sleep(300 * time.Millisecond)
		}
		_, err = d.showState(p, "after the asynchronous revoke -prefix")
		return err
	}
	return nil
}

// kv renders fields as the CLI's key=value arguments, sorted.
func kv(fields map[string]any) []string {
	keys := slices.Sorted(maps.Keys(fields))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s=%v", k, fields[k]))
	}
	return out
}

// issue reads creds and prints the lease, masking every field the driver
// declares secret; it returns the lease id and the credential's data.
func (d *demo) issue(provider, role string) (string, map[string]any, error) {
	out, err := d.vaultOut("read", "-format=json", mount+"/creds/"+provider+"/"+role)
	if err != nil {
		return "", nil, err
	}
	var sec struct {
		LeaseID       string         `json:"lease_id"`
		LeaseDuration int            `json:"lease_duration"`
		Renewable     bool           `json:"renewable"`
		Data          map[string]any `json:"data"`
		Warnings      []string       `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &sec); err != nil {
		return "", nil, err
	}
	secret := d.secretFields(provider)
	fmt.Printf("  lease_id       %s\n  lease_duration %ds  renewable %v\n", sec.LeaseID, sec.LeaseDuration, sec.Renewable)
	keys := make([]string, 0, len(sec.Data))
	for k := range sec.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := fmt.Sprint(sec.Data[k])
		if secret[k] {
			d.secrets = append(d.secrets, s)
			s = maskValue(s)
		}
		fmt.Printf("  %-14s %s\n", k, s)
	}
	for _, w := range sec.Warnings {
		fmt.Printf("  warning: %s\n", d.mask(w))
	}
	return sec.LeaseID, sec.Data, nil
}

// secretFields are the response fields of a driver's credential types
// that it declares secret.
func (d *demo) secretFields(provider string) map[string]bool {
	out := map[string]bool{}
	c, ok := clouds.Get(provider)
	if !ok {
		return out
	}
	for _, ct := range c.Driver().Info().CredentialTypes {
		for _, f := range ct.ResponseFields {
			if f.Secret {
				out[f.Name] = true
			}
		}
	}
	return out
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
	resp, err := http.Get(d.ep[provider].Admin + "/state")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var st map[string]int
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// showState prints what a cloud holds (every count the emulator reports
// that is not zero).
func (d *demo) showState(provider, when string) (map[string]int, error) {
	st, err := d.state(provider)
	if err != nil {
		return nil, err
	}
	parts := make([]string, 0, len(st))
	for _, k := range slices.Sorted(maps.Keys(st)) {
		if st[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, st[k]))
		}
	}
	fmt.Printf("  [%s cloud %s] %s\n", provider, when, strings.Join(parts, " "))
	return st, nil
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
