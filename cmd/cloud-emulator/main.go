// Command cloud-emulator serves the test clouds (AWS IAM+STS, Ncloud
// STS+Sub Account, Nomad ACL) as local servers for the demo, the e2e tests
// and the benchmark. It prints one JSON line with every endpoint and root
// credential on stdout, then serves until SIGINT or SIGTERM.
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
	"syscall"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cloud-emulator:", err)
		os.Exit(1)
	}
}

func run() error {
	host := flag.String("listen-host", "127.0.0.1", "address to listen on (loopback only in tests)")
	awsPort := flag.Int("aws-port", 0, "port of the AWS IAM+STS emulator (0: pick a free one)")
	ncloudPort := flag.Int("ncloud-port", 0, "port of the Ncloud STS+Sub Account emulator (0: pick a free one)")
	nomadPort := flag.Int("nomad-port", 0, "port of the Nomad ACL emulator (0: pick a free one)")
	keyDelay := flag.Duration("aws-key-delay", 0, "how long a new AWS access key is refused (IAM eventual consistency)")
	pageSize := flag.Int("aws-page-size", 0, "most items an AWS List* call returns per page (0: the emulator's default of 2)")
	flag.Parse()

	awsSrv := awstest.New(awstest.Options{KeyDelay: *keyDelay, PageSize: *pageSize})
	ncSrv := ncloudtest.New(ncloudtest.Options{})
	nomadSrv := nomadtest.New(nomadtest.Options{})

	var servers []*http.Server
	serve := func(port int, h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(port)))
		if err != nil {
			return "", err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(os.Stderr, "cloud-emulator: serve:", err)
			}
		}()
		return "http://" + ln.Addr().String(), nil
	}
	awsURL, err := serve(*awsPort, awsSrv)
	if err != nil {
		return fmt.Errorf("aws listener: %w", err)
	}
	ncURL, err := serve(*ncloudPort, ncSrv)
	if err != nil {
		return fmt.Errorf("ncloud listener: %w", err)
	}
	nomadURL, err := serve(*nomadPort, nomadSrv)
	if err != nil {
		return fmt.Errorf("nomad listener: %w", err)
	}

	ak, sk := awsSrv.RootCredentials()
	nak, nsk := ncSrv.RootCredentials()
	line := emulator.Endpoints{
		AWS: emulator.AWSEndpoints{IAMEndpoint: awsURL, STSEndpoint: awsURL, Region: awsSrv.Region(), AccessKey: ak, SecretKey: sk,
			Admin: awsURL + emulator.AdminPrefix},
		Ncloud: emulator.NcloudEndpoints{STSEndpoint: ncURL, SubAccountEndpoint: ncURL, AccessKey: nak, SecretKey: nsk,
			Admin: ncURL + emulator.AdminPrefix},
		Nomad: emulator.NomadEndpoints{Address: nomadURL, Token: nomadSrv.RootToken(), Admin: nomadURL + emulator.AdminPrefix},
	}
	if err := json.NewEncoder(os.Stdout).Encode(line); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdown)
	}
	return nil
}
