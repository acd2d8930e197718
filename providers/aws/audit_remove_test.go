package aws_test

import (
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// openAuditor opens the driver on url (an emulator, maybe behind a
// wrapper) with the root key of s, as instance "aws".
func openAuditor(t *testing.T, s *awstest.Server, url string, extra providers.Values) providers.Auditor {
	t.Helper()
	ak, sk := s.RootCredentials()
	cfg := providers.Values{
		"access_key": ak, "secret_key": sk, "iam_endpoint": url, "sts_endpoint": url,
		"max_retries": 0, "retry_max_backoff": time.Second, "max_concurrent_iam_calls": 10, "max_managed_policies_per_user": 10,
		"username_template": aws.DefaultUsernameTemplate, "session_name_template": aws.DefaultSessionNameTemplate,
	}
	for k, v := range extra {
		cfg[k] = v
	}
	p, err := aws.New().Open(ctx, providers.OpenRequest{Instance: "aws", Config: cfg})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	a, ok := p.(providers.Auditor)
	require.True(t, ok, "the aws provider is an Auditor")
	return a
}

// adminOf is an env without a backend: a root-signed client of s at url.
func adminOf(t *testing.T, s *awstest.Server, url string) *env {
	ak, sk := s.RootCredentials()
	return &env{Backend: &plugintest.Backend{T: t}, admin: iam.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")},
		func(o *iam.Options) { o.BaseEndpoint = awsv2.String(url) })}
}

func objectNames(inv *providers.Inventory) []string {
	var out []string
	for _, o := range inv.Objects {
		out = append(out, o.Name)
	}
	return out
}

var testMark = providers.Mark{Mount: "abcdefgh", Instance: "aws"}

// Remove acts only on a user an Inventory of this instance listed, and
// only while it is that very user (same id) and still carries the mark:
// a user that lost its mark or was made again is left alone with an
// error saying why; a user already gone is success.
func TestRemoveChecksTheMark(t *testing.T) {
	ts := awstest.Start(t, awstest.Options{})
	e := adminOf(t, ts.Server, ts.URL)
	p := openAuditor(t, ts.Server, ts.URL, nil)
	tags := mark(testMark.Mount, testMark.Instance)
	ids := map[string]string{}
	for _, n := range []string{"vault-a", "vault-b", "vault-c", "vault-d"} {
		ids[n] = e.markedUser(n, "/p/", tags)
	}
	e.group("ops")
	e.addExtras("vault-a", true)

	inv, err := p.Inventory(ctx, testMark)
	require.NoError(t, err)
	require.Equal(t, []string{"iam_user"}, inv.Kinds)
	require.Equal(t, []string{"vault-a", "vault-b", "vault-c", "vault-d"}, objectNames(inv))
	byName := map[string]providers.CloudObject{}
	for _, o := range inv.Objects {
		byName[o.Name] = o
		require.Equal(t, ids[o.Name], o.ID)
		u, _ := ts.User(o.Name)
		require.WithinDuration(t, u.CreateDate, o.Created, time.Second)
	}

	_, err = p.Inventory(ctx, providers.Mark{Mount: "abcdefgh"})
	require.ErrorContains(t, err, "needs the mount id and the instance name")
	require.ErrorContains(t, p.Remove(ctx, testMark, providers.CloudObject{ObjectRef: providers.ObjectRef{Kind: "access_key", Name: "AKIA"}}), "removes only iam_user")
	require.ErrorContains(t, p.Remove(ctx, providers.Mark{Mount: testMark.Mount, Instance: "other"}, byName["vault-a"]),
		`is not an object this instance (aws) listed for mount`)
	// Another mount's mark is not this user's: left alone.
	require.ErrorContains(t, p.Remove(ctx, providers.Mark{Mount: "zzzzzzzz", Instance: testMark.Instance}, byName["vault-a"]),
		"no longer carries this mount's mark")

	// Lost its mark since the inventory.
	_, err = e.admin.UntagUser(ctx, &iam.UntagUserInput{UserName: awsv2.String("vault-b"), TagKeys: []string{aws.MarkMountTag}})
	require.NoError(t, err)
	require.ErrorContains(t, p.Remove(ctx, testMark, byName["vault-b"]), "IAM user vault-b not removed: it no longer carries this mount's mark")
	// Deleted and made again, with the mark, since the inventory.
	_, err = e.admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: awsv2.String("vault-c")})
	require.NoError(t, err)
	newID := e.markedUser("vault-c", "/p/", tags)
	require.ErrorContains(t, p.Remove(ctx, testMark, byName["vault-c"]), "IAM user vault-c not removed: it was deleted and made again since the inventory (user id "+newID)
	for _, n := range []string{"vault-b", "vault-c"} {
		_, ok := ts.User(n)
		require.True(t, ok, "%s is untouched", n)
	}
	// Gone already: success.
	_, err = e.admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: awsv2.String("vault-d")})
	require.NoError(t, err)
	require.NoError(t, p.Remove(ctx, testMark, byName["vault-d"]))
	// The marked one goes, with everything on it.
	require.NoError(t, p.Remove(ctx, testMark, byName["vault-a"]))
	_, ok := ts.User("vault-a")
	require.False(t, ok)
	require.NoError(t, p.Remove(ctx, testMark, byName["vault-a"]), "removing twice succeeds")

	inv, err = p.Inventory(ctx, testMark)
	require.NoError(t, err)
	require.Equal(t, []string{"vault-c"}, objectNames(inv), "the remade user is listed again, the untagged one is not")
	require.Equal(t, newID, inv.Objects[0].ID)
}

// A credential that may not call GetAccountAuthorizationDetails still
// gets a complete inventory from ListUsers and one ListUserTags per user
// (all pages of each), and the calls say so; an error in either listing
// fails the inventory (a partial list would make live users look gone).
func TestInventoryFallsBackToListUserTags(t *testing.T) {
	s := awstest.New(awstest.Options{}) // pages of 2
	var denied atomic.Int64
	hs := httptest.NewServer(aws.DenyActions(s, &denied, "GetAccountAuthorizationDetails"))
	t.Cleanup(hs.Close)
	e := adminOf(t, s, hs.URL)
	tags := mark(testMark.Mount, testMark.Instance)
	tags["a"], tags["b"], tags["c"] = "1", "2", "3" // 5 tags: 3 pages of ListUserTags each
	for i := range 3 {
		e.markedUser(fmt.Sprint("vault-m", i), fmt.Sprintf("/p%d/", i), tags)
	}
	e.markedUser("other", "/", map[string]string{"x": "y"})
	p := openAuditor(t, s, hs.URL, nil)

	s.Core().Reset()
	inv, err := p.Inventory(ctx, testMark)
	require.NoError(t, err)
	require.Equal(t, []string{"vault-m0", "vault-m1", "vault-m2"}, objectNames(inv))
	users := len(s.UserNames()) // 5 with the root user
	counts := s.Core().Calls().Counts
	require.Equal(t, (users+1)/2, counts["ListUsers"])
	require.Equal(t, 3*3+1+1, counts["ListUserTags"], "3 pages for each marked user, 1 for the others")
	require.EqualValues(t, 1, denied.Load())
	require.Equal(t, 1+counts["ListUsers"]+counts["ListUserTags"], inv.Calls, "the denied call counts too")

	s.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"ListUserTags": 1}})
	_, err = p.Inventory(ctx, testMark)
	require.ErrorContains(t, err, "ListUserTags")
	s.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"ListUsers": 1}})
	_, err = p.Inventory(ctx, testMark)
	require.ErrorContains(t, err, "ListUsers")

	// Any other failure of GetAccountAuthorizationDetails fails the
	// inventory: no fallback.
	s.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"GetAccountAuthorizationDetails": 1}})
	plain := httptest.NewServer(s)
	t.Cleanup(plain.Close)
	direct := openAuditor(t, s, plain.URL, nil)
	s.Core().Reset()
	s.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"GetAccountAuthorizationDetails": 1}})
	_, err = direct.Inventory(ctx, testMark)
	require.ErrorContains(t, err, "GetAccountAuthorizationDetails: ServiceFailure")
	require.Zero(t, s.Core().Count("ListUsers"))
	inv, err = direct.Inventory(ctx, testMark)
	require.NoError(t, err)
	require.Len(t, inv.Objects, 3)
	require.Equal(t, (users+1)/2, inv.Calls)
}
