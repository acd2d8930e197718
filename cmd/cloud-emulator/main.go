// Command cloud-emulator serves the test clouds of cmd/clouds (AWS IAM+STS,
// Ncloud STS+Sub Account, Nomad ACL, ...) as local servers for the demo,
// the e2e tests and the benchmark. It prints one JSON line on stdout — for
// every cloud by name: the config its driver needs to reach it (URLs and
// the emulator's root credential), its admin endpoint and the roles the
// demo issues (see emulator.Endpoints) — then serves until SIGINT or
// SIGTERM.
//
//	cloud-emulator [-listen-host 127.0.0.1] [-port aws=9000] [-opt aws.page_size=100]
//
// The root credentials it prints are the emulators' own, random per run;
// they are test fixtures, not secrets of any real cloud.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/cmd/clouds"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cloud-emulator:", err)
		os.Exit(1)
	}
}

// pairs is a repeatable name=value flag.
type pairs map[string]string

func (p pairs) String() string { return fmt.Sprint(map[string]string(p)) }

func (p pairs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	p[k] = v
	return nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("cloud-emulator", flag.ContinueOnError)
	host := fs.String("listen-host", "127.0.0.1", "address to listen on (loopback only in tests)")
	ports, opts := pairs{}, pairs{}
	fs.Var(ports, "port", "port of one cloud's emulator, as <cloud>=<port> (repeatable; default: a free port)")
	fs.Var(opts, "opt", "an emulator option, as <cloud>.<option>=<value> (repeatable), e.g. aws.page_size=100, aws.key_delay=5s")
	if err := fs.Parse(args); err != nil {
		return err
	}
	byCloud := map[string]map[string]string{}
	for k, v := range opts {
		name, opt, ok := strings.Cut(k, ".")
		if !ok {
			return fmt.Errorf("-opt %s: want <cloud>.<option>=<value>", k)
		}
		if byCloud[name] == nil {
			byCloud[name] = map[string]string{}
		}
		byCloud[name][opt] = v
	}
	known := map[string]bool{}
	for _, c := range clouds.All() {
		known[c.Name()] = true
	}
	for _, m := range []map[string]string{ports} {
		for name := range m {
			if !known[name] {
				return fmt.Errorf("-port: unknown cloud %q", name)
			}
		}
	}
	for name := range byCloud {
		if !known[name] {
			return fmt.Errorf("-opt: unknown cloud %q", name)
		}
	}

	var servers []*http.Server
	defer func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(shutdown)
		}
	}()
	line := emulator.Endpoints{}
	for _, c := range clouds.All() {
		inst, err := c.New(byCloud[c.Name()])
		if err != nil {
			return err
		}
		port := 0
		if p, ok := ports[c.Name()]; ok {
			if port, err = strconv.Atoi(p); err != nil || port < 0 || port > 65535 {
				return fmt.Errorf("-port %s=%s: not a port", c.Name(), p)
			}
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("%s listener: %w", c.Name(), err)
		}
		srv := &http.Server{Handler: inst, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(os.Stderr, "cloud-emulator: serve:", err)
			}
		}()
		url := "http://" + ln.Addr().String()
		line[c.Name()] = emulator.Endpoint{Config: inst.Config(url), Admin: url + emulator.AdminPrefix, Roles: inst.Roles()}
	}
	if err := json.NewEncoder(os.Stdout).Encode(line); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
