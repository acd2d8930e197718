package e2e

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	ncphmac "github.com/NaverCloudPlatform/ncloud-sdk-go-v2/hmac"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	nomadapi "github.com/hashicorp/nomad/api"
	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	awsdriver "github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
)

// TestAuditAndTidy (issue 14, Done means 1): objects made behind the
// plugin's back with this mount's mark, and the user of a lease revoked
// with -force while its revoke failed, are listed by audit and removed by
// tidy, through the real Vault; live credentials of the same roles,
// objects of another mount on the same account and unmarked objects are
// never touched.
func TestAuditAndTidy(t *testing.T) {
	s := newStack(t, false)
	s.write(t, "roles/ncloud/sub", map[string]any{"credential_type": "sub_account", "policies": "NCP_INFRA_MANAGER"})
	mountID := str(s.read(t, "settings").Data["mount_id"])
	require.Regexp(t, `^[a-z2-7]{8}$`, mountID)

	live := map[string]*api.Secret{"aws": s.issue(t, "aws", "ci"), "nomad": s.issue(t, "nomad", "ci"), "ncloud": s.issue(t, "ncloud", "sub")}

	// Behind the plugin's back: one object with this mount's mark, one
	// with another mount's, one unmarked, in each cloud.
	iamc := s.iamAdmin(t)
	for name, tags := range map[string]map[string]string{
		"orphan-aws":      {awsdriver.MarkMountTag: mountID, awsdriver.MarkInstanceTag: "aws"},
		"other-mount-aws": {awsdriver.MarkMountTag: "zzzzzzzz", awsdriver.MarkInstanceTag: "aws"},
		"unmarked-aws":    {"team": "ops"},
	} {
		in := &iam.CreateUserInput{UserName: aws.String(name), Path: aws.String("/manual/")}
		for k, v := range tags {
			in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		_, err := iamc.CreateUser(context.Background(), in)
		require.NoError(t, err)
	}
	root := s.nomadAPI(t, s.nomad.RootToken())
	for _, name := range []string{"mc:" + mountID + ":nomad:orphan", "mc:zzzzzzzz:nomad:other-mount", "plain-token"} {
		_, _, err := root.ACLTokens().Create(&nomadapi.ACLToken{Name: name, Type: "client", Policies: []string{"readonly"}}, nil)
		require.NoError(t, err)
	}
	for login, memo := range map[string]string{
		"mc." + mountID + ".orphan": "vault-plugin-secrets-multicloud mount=" + mountID + " instance=ncloud",
		"mc.zzzzzzzz.other-mount":   "vault-plugin-secrets-multicloud mount=zzzzzzzz instance=ncloud",
		"unmarked-sub":              "",
	} {
		s.ncloudCreateSubAccount(t, login, memo)
	}

	// A lease revoked with -force while its revoke fails: Vault drops the
	// lease, the IAM user stays.
	forced := s.issue(t, "aws", "ci")
	forcedUser := str(forced.Data["user_name"])
	s.aws.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"DeleteUser": 1 << 20, "DeleteAccessKey": 1 << 20}})
	require.NoError(t, s.client.Sys().RevokeForce(forced.LeaseID))
	s.aws.Core().SetFaults(emulator.Faults{})
	_, err := s.client.Sys().Lookup(forced.LeaseID)
	require.Error(t, err, "the forced lease is gone from Vault")
	_, ok := s.aws.User(forcedUser)
	require.True(t, ok, "its user is still in the cloud")

	awsWant := []string{forcedUser, "orphan-aws"}
	sort.Strings(awsWant)
	want := map[string][]string{
		"aws":    awsWant,
		"nomad":  {"mc:" + mountID + ":nomad:orphan"},
		"ncloud": {"mc." + mountID + ".orphan"},
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		t.Run(p, func(t *testing.T) {
			// abandon_after=0: the failed revoke is not waited for.
			audit, err := s.client.Logical().ReadWithData(mount+"/audit/"+p, map[string][]string{"abandon_after": {"0"}})
			require.NoError(t, err)
			require.Equal(t, want[p], names(audit.Data["orphans"]), "orphans")
			require.Empty(t, audit.Data["ghosts"])

			dry := s.write(t, "tidy/"+p, map[string]any{"min_age": 0, "abandon_after": 0})
			require.Equal(t, true, dry.Data["dry_run"])
			require.Equal(t, want[p], names(dry.Data["removed"]), "a dry run says what it would remove")

			done := s.write(t, "tidy/"+p, map[string]any{"dry_run": false, "min_age": 0, "abandon_after": 0})
			require.Equal(t, want[p], names(done.Data["removed"]))
			require.Empty(t, done.Data["failed"])

			after, err := s.client.Logical().ReadWithData(mount+"/audit/"+p, map[string][]string{"abandon_after": {"0"}})
			require.NoError(t, err)
			require.Empty(t, after.Data["orphans"])
			require.Empty(t, after.Data["ghosts"])
			require.EqualValues(t, json.Number("1"), after.Data["held"], "the live credential is held")
		})
	}

	// Untouched: live credentials (they still work), other mounts' and
	// unmarked objects.
	s.awsKeyWorks(t, str(live["aws"].Data["access_key"]), str(live["aws"].Data["secret_key"]), "")
	_, _, err = s.nomadAPI(t, str(live["nomad"].Data["secret_id"])).ACLTokens().Self(nil)
	require.NoError(t, err)
	s.ncloudKeyWorks(t, str(live["ncloud"].Data["access_key"]), str(live["ncloud"].Data["secret_key"]))
	for _, u := range []string{"other-mount-aws", "unmarked-aws"} {
		_, ok := s.aws.User(u)
		require.True(t, ok, u)
	}
	for _, l := range []string{"mc.zzzzzzzz.other-mount", "unmarked-sub"} {
		_, ok := s.ncloud.SubAccount(l)
		require.True(t, ok, l)
	}
	tokens, _, err := root.ACLTokens().List(nil)
	require.NoError(t, err)
	var tokenNames []string
	for _, tk := range tokens {
		tokenNames = append(tokenNames, tk.Name)
	}
	require.Contains(t, tokenNames, "mc:zzzzzzzz:nomad:other-mount")
	require.Contains(t, tokenNames, "plain-token")
	require.NotContains(t, tokenNames, "mc:"+mount+":nomad:orphan")

	for _, sec := range live {
		s.revoke(t, sec.LeaseID)
	}
}

func names(v any) []string {
	out := []string{}
	list, _ := v.([]any)
	for _, o := range list {
		if m, ok := o.(map[string]any); ok {
			out = append(out, str(m["name"]))
		}
	}
	sort.Strings(out)
	return out
}

// iamAdmin is an IAM client of the emulator signed with its root key.
func (s *stack) iamAdmin(t *testing.T) *iam.Client {
	t.Helper()
	ak, sk := s.aws.RootCredentials()
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.aws.URL), Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")})
}

// ncloudCreateSubAccount makes a sub account at the emulator with the root
// key, as an operator would with the Sub Account API.
func (s *stack) ncloudCreateSubAccount(t *testing.T, loginID, memo string) {
	t.Helper()
	body := map[string]any{"loginId": loginID, "name": "manual", "passwordGenerationRequired": true, "apiGatewayAccessible": true, "consoleAccessible": false}
	if memo != "" {
		body["memo"] = memo
	}
	buf, err := json.Marshal(body)
	require.NoError(t, err)
	const uri = "/api/v2/sub-accounts"
	ak, sk := s.ncloud.RootCredentials()
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sig, err := ncphmac.NewSigner(sk, crypto.SHA256).Sign(http.MethodPost, uri, ak, ts)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.ncloud.URL+uri, bytes.NewReader(buf))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-ncp-apigw-timestamp", ts)
	req.Header.Set("x-ncp-iam-access-key", ak)
	req.Header.Set("x-ncp-apigw-signature-v2", sig)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(out))
}
