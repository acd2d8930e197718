package ncloudtest

import (
	"crypto"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
)

// Cloud describes the Ncloud emulator to the programs that run every cloud
// (see emulator.Cloud).
var Cloud emulator.Cloud = cloud{}

type cloud struct{}

func (cloud) Name() string          { return "ncloud" }
func (cloud) Title() string         { return "STS + Sub Account" }
func (cloud) EnvPrefixes() []string { return []string{"NCLOUD_"} }

// New builds an emulator; it takes no options.
func (cloud) New(opts map[string]string) (emulator.Instance, error) {
	for k := range opts {
		return nil, fmt.Errorf("ncloud: unknown option %q (it takes none)", k)
	}
	return New(Options{}), nil
}

// Use asks STS who owns the issued key (GET /api/v1/caller-identity),
// signed with it as Ncloud's API gateway wants: the emulator answers 200
// only if the signature matches the key's secret.
func (cloud) Use(config, data map[string]any) error {
	ak, _ := data["access_key"].(string)
	sk, _ := data["secret_key"].(string)
	base, _ := config["sts_endpoint"].(string)
	const uri = "/api/v1/caller-identity"
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sig, err := hmac.NewSigner(sk, crypto.SHA256).Sign(http.MethodGet, uri, ak, ts)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodGet, base+uri, nil)
	if err != nil {
		return err
	}
	req.Header.Set("x-ncp-apigw-timestamp", ts)
	req.Header.Set("x-ncp-iam-access-key", ak)
	req.Header.Set("x-ncp-apigw-signature-v2", sig)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("caller-identity with the issued key: %s: %s", resp.Status, body)
	}
	return nil
}

// Config is the ncloud driver's config for this emulator served at url.
func (s *Server) Config(url string) map[string]any {
	ak, sk := s.RootCredentials()
	return map[string]any{"access_key": ak, "secret_key": sk, "sts_endpoint": url, "subaccount_endpoint": url}
}

// Roles are the roles the demo, the e2e tests, the reliability tests and
// the benchmark issue; the policies "sub" names are fixtures of every
// account.
func (s *Server) Roles() []emulator.Role {
	return []emulator.Role{
		{Name: "ci", Title: "an STS key (expires by itself)", Fields: map[string]any{"credential_type": "sts", "ttl": "15m", "max_ttl": "1h"}},
		{Name: "sub", Title: "a sub account with two policies and an access key", Fields: map[string]any{"credential_type": "sub_account", "policies": "NCP_INFRA_MANAGER,NCP_VPC_MANAGER", "ttl": "10m", "max_ttl": "1h"}, Revocable: true},
	}
}

// ObjectKind is "sub_accounts": a sub_account credential lives in one sub
// account.
func (s *Server) ObjectKind() string { return "sub_accounts" }

// ObjectNames are the loginIds of the primary account's sub accounts, the
// root sub account included.
func (s *Server) ObjectNames() []string { return s.primary().loginIDs() }

// HasObject reports whether the primary account has a sub account whose
// loginId (or, failing that, name) is name.
func (s *Server) HasObject(name string) bool { _, ok := s.SubAccount(name); return ok }

// CredFields are login_id and secret_key.
func (s *Server) CredFields() (object, secret string) { return "login_id", "secret_key" }

// CreateAction is CreateSubAccount.
func (s *Server) CreateAction() string { return "CreateSubAccount" }

// DeleteAction is DeleteSubAccount (which deletes the sub account's keys
// with it).
func (s *Server) DeleteAction() string { return "DeleteSubAccount" }

// ObjectLimit is the documented 500 sub accounts of an account (see
// maxSubAccounts), which CreateSubAccount enforces.
func (s *Server) ObjectLimit() int { return maxSubAccounts }
