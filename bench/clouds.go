package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// awsCloud is one emulated AWS account (IAM+STS) served on loopback.
type awsCloud struct {
	url, accessKey, secretKey string
	admin                     admin
}

// nomadCloud is one emulated Nomad ACL API served on loopback.
type nomadCloud struct {
	url, token string
	admin      admin
}

// clouds holds the emulators the benchmark serves in-process, with the same
// packages as bin/cloud-emulator: main is the account both engines are
// measured against; truncated answers List* calls with pages of 2 items
// (bin/cloud-emulator's page size), for the truncated-page case;
// bulkOurs and bulkBuiltin are the accounts of the bulk case, one per
// engine, so that each has the account's whole rate limit; keep holds the
// plugin's other live leases during the bulk case; audit is the audit
// case's account (pages of 1000, behind a switch that denies
// GetAccountAuthorizationDetails).
type clouds struct {
	main, truncated       awsCloud
	bulkOurs, bulkBuiltin awsCloud
	keep                  awsCloud
	audit                 auditCloud
	nomad                 nomadCloud
	servers               []*http.Server
}

// admins are the admin endpoints of every emulator.
func (c *clouds) admins() []admin {
	return []admin{c.main.admin, c.truncated.admin, c.bulkOurs.admin, c.bulkBuiltin.admin, c.keep.admin, c.audit.admin, c.nomad.admin}
}

// startClouds serves the emulators on 127.0.0.1. pageSize is the most
// items the main AWS account returns per List* page.
func startClouds(pageSize int, m *masker) (*clouds, error) {
	c := &clouds{}
	for _, x := range []struct {
		dst  *awsCloud
		size int
	}{{&c.main, pageSize}, {&c.truncated, 2}, {&c.bulkOurs, pageSize}, {&c.bulkBuiltin, pageSize}, {&c.keep, pageSize}} {
		srv := awstest.New(awstest.Options{PageSize: x.size})
		url, err := c.serve(srv)
		if err != nil {
			c.stop()
			return nil, err
		}
		ak, sk := srv.RootCredentials()
		m.add(sk)
		*x.dst = awsCloud{url: url, accessKey: ak, secretKey: sk, admin: admin{url: url + emulator.AdminPrefix}}
	}
	asrv := awstest.New(awstest.Options{PageSize: auditPageSize})
	denier := newGAADDenier(asrv)
	aurl, err := c.serve(denier)
	if err != nil {
		c.stop()
		return nil, err
	}
	ak, sk := asrv.RootCredentials()
	m.add(sk)
	c.audit = auditCloud{awsCloud: awsCloud{url: aurl, accessKey: ak, secretKey: sk, admin: admin{url: aurl + emulator.AdminPrefix}}, denier: denier}
	nsrv := nomadtest.New(nomadtest.Options{})
	url, err := c.serve(nsrv)
	if err != nil {
		c.stop()
		return nil, err
	}
	m.add(nsrv.RootToken())
	c.nomad = nomadCloud{url: url, token: nsrv.RootToken(), admin: admin{url: url + emulator.AdminPrefix}}
	return c, nil
}

func (c *clouds) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	c.servers = append(c.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// stop closes every emulator.
func (c *clouds) stop() {
	for _, s := range c.servers {
		_ = s.Close()
	}
}

// admin is a client of one emulator's /_emulator endpoints.
type admin struct{ url string }

var adminHTTP = &http.Client{Timeout: 10 * time.Second}

// state returns the live object counts.
func (a admin) state(ctx context.Context) (map[string]int, error) {
	var st map[string]int
	return st, a.do(ctx, http.MethodGet, "/state", nil, &st)
}

// calls returns the per-action counts and the call log.
func (a admin) calls(ctx context.Context) (emulator.CallReport, error) {
	var r emulator.CallReport
	return r, a.do(ctx, http.MethodGet, "/calls", nil, &r)
}

// setFaults replaces the fault settings (latency, rate limit, ...).
func (a admin) setFaults(ctx context.Context, f emulator.Faults) error {
	return a.do(ctx, http.MethodPost, "/faults", f, nil)
}

func (a admin) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, body)
	if err != nil {
		return err
	}
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("emulator %s %s: %s: %s", method, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// createGroups creates IAM groups in the emulated account with its root
// key, through the real IAM SDK (EntityAlreadyExists is fine).
func (a awsCloud) createGroups(ctx context.Context, names ...string) error {
	client := iam.New(iam.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(a.url),
		Credentials:  credentials.NewStaticCredentialsProvider(a.accessKey, a.secretKey, ""),
	})
	for _, n := range names {
		_, err := client.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String(n)})
		var exists interface{ ErrorCode() string }
		if err != nil && !(errors.As(err, &exists) && exists.ErrorCode() == "EntityAlreadyExists") {
			return fmt.Errorf("iam CreateGroup %s: %w", n, err)
		}
	}
	return nil
}

// putPolicy creates or updates a Nomad ACL policy with the root token.
func (n nomadCloud) putPolicy(ctx context.Context, name, rules string) error {
	body, _ := json.Marshal(map[string]string{"Name": name, "Rules": rules})
	return n.do(ctx, http.MethodPut, "/v1/acl/policy/"+name, body)
}

// deleteToken deletes a Nomad ACL token by accessor with the root token,
// behind Vault's back.
func (n nomadCloud) deleteToken(ctx context.Context, accessor string) error {
	return n.do(ctx, http.MethodDelete, "/v1/acl/token/"+accessor, nil)
}

func (n nomadCloud) do(ctx context.Context, method, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, n.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Nomad-Token", n.token)
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("nomad %s %s: %s: %s", method, path, resp.Status, b)
	}
	return nil
}
