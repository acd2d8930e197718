package aws_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/plugin/plugintest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

// docPolicy returns the minimal IAM policy published in
// docs/providers/aws.md for account, without the statements whose Sid is
// in drop.
func docPolicy(t *testing.T, account string, drop ...string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/providers/aws.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- BEGIN minimal-policy -->\\s*```json\\n(.*?)```\\s*<!-- END minimal-policy -->").FindSubmatch(doc)
	require.NotNil(t, m, "docs/providers/aws.md has the minimal policy block")
	var p struct {
		Version   string
		Statement []map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(strings.ReplaceAll(string(m[1]), "ACCOUNT_ID", account)), &p))
	kept := p.Statement[:0]
	for _, st := range p.Statement {
		dropped := false
		for _, sid := range drop {
			dropped = dropped || st["Sid"] == sid
		}
		if !dropped {
			kept = append(kept, st)
		}
	}
	require.Len(t, kept, len(p.Statement)-len(drop), "every dropped Sid exists")
	p.Statement = kept
	out, err := json.Marshal(p)
	require.NoError(t, err)
	return string(out)
}

// newPolicyEnv starts an emulator that enforces IAM policies and a backend
// whose config/aws is the key of a user holding exactly policy.
func newPolicyEnv(t *testing.T, policy string) *env {
	t.Helper()
	ts := awstest.Start(t, awstest.Options{EnforcePolicies: true})
	ak, sk := ts.RootCredentials()
	admin := iam.NewFromConfig(awsv2.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")},
		func(o *iam.Options) { o.BaseEndpoint = awsv2.String(ts.URL) })
	plugin := awsv2.String("multicloud-plugin")
	_, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: plugin})
	require.NoError(t, err)
	_, err = admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: plugin, PolicyName: awsv2.String("vault"), PolicyDocument: &policy})
	require.NoError(t, err)
	key, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: plugin})
	require.NoError(t, err)

	e := &env{Backend: plugintest.New(t, providers.MustRegistry(aws.New())), ts: ts, admin: admin}
	e.OK(logical.UpdateOperation, "config/aws", map[string]any{
		"access_key": awsv2.ToString(key.AccessKey.AccessKeyId), "secret_key": awsv2.ToString(key.AccessKey.SecretAccessKey),
		"iam_endpoint": ts.URL, "sts_endpoint": ts.URL, "max_retries": 0, "retry_max_backoff": "1s",
	})
	return e
}

// addExtras adds to a user, behind its lease's back, one thing of every
// kind the plugin must clean up: required kinds (a key, a managed and an
// inline policy, a group), and, if optional, the kinds it never makes.
func (e *env) addExtras(name string, optional bool) {
	e.T.Helper()
	u := awsv2.String(name)
	_, err := e.admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: u})
	require.NoError(e.T, err)
	_, err = e.admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: u, PolicyArn: awsv2.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")})
	require.NoError(e.T, err)
	_, err = e.admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: u, PolicyName: awsv2.String("extra"), PolicyDocument: awsv2.String(allowS3)})
	require.NoError(e.T, err)
	_, err = e.admin.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: u, GroupName: awsv2.String("ops")})
	require.NoError(e.T, err)
	if !optional {
		return
	}
	_, err = e.admin.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: u, Password: awsv2.String("Corr3ct-Horse-Battery!")})
	require.NoError(e.T, err)
	dev, err := e.admin.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: awsv2.String(name + "-mfa")})
	require.NoError(e.T, err)
	_, err = e.admin.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: u, SerialNumber: dev.VirtualMFADevice.SerialNumber,
		AuthenticationCode1: awsv2.String("123456"), AuthenticationCode2: awsv2.String("654321")})
	require.NoError(e.T, err)
	_, err = e.admin.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: u, SSHPublicKeyBody: awsv2.String(awstest.SSHPublicKey(e.T, 2048))})
	require.NoError(e.T, err)
	_, err = e.admin.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: u, CertificateBody: awsv2.String(awstest.SigningCertificatePEM(e.T))})
	require.NoError(e.T, err)
	_, err = e.admin.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: u, ServiceName: awsv2.String("codecommit.amazonaws.com")})
	require.NoError(e.T, err)
}

// The minimal IAM policy published in docs/providers/aws.md is enough for
// every feature, checked at an emulator that denies every action the
// plugin's user is not allowed, with IAM's AccessDenied: role writes with
// their existence checks, iam_user issue (tags on create need
// iam:TagUser), revoke, rollback and DeleteConflict recovery, audit and
// tidy, assumed_role issue (GetRole for the role's MaxSessionDuration)
// and rotate-root. Without the optional statement,
// revoke and rollback skip the kinds the plugin never makes and still
// delete the user; a user that really has one of them fails to revoke
// with an error naming it, until it is removed.
func TestMinimalIAMPolicy(t *testing.T) {
	for _, variant := range []struct {
		name string
		drop []string
	}{{"published policy", nil}, {"without the optional clean-up", []string{"OptionalCleanUpOfWhatOthersAdded"}}} {
		t.Run(variant.name, func(t *testing.T) {
			optional := len(variant.drop) == 0
			e := newPolicyEnv(t, docPolicy(t, "123456789012", variant.drop...))
			e.System.DefaultLeaseTTLVal, e.System.MaxLeaseTTLVal = 768*time.Hour, 768*time.Hour
			p1, boundary := e.policy("p1"), e.policy("boundary")
			e.group("devs")
			e.group("ops")
			role := e.defaultRole(e.admin, "deploy", "123456789012")

			// Role writes: the existence checks run (a missing policy is a 400).
			e.BadRequest(logical.UpdateOperation, "roles/aws/u", map[string]any{"policy_arns": []string{"arn:aws:iam::123456789012:policy/nope"}}, "does not exist")
			e.OK(logical.UpdateOperation, "roles/aws/u", map[string]any{
				"policy_arns": []string{p1, "arn:aws:iam::aws:policy/ReadOnlyAccess"}, "policy_document": allowS3,
				"iam_groups": []string{"devs"}, "iam_tags": map[string]any{"team": "core"}, "permissions_boundary_arn": boundary,
			})
			e.OK(logical.UpdateOperation, "roles/aws/a", map[string]any{"credential_type": "assumed_role", "role_arns": []string{role}})

			// Issue and revoke.
			lease := e.issue("u", nil)
			_, err := e.Revoke(lease.Secret)
			require.NoError(t, err)
			require.Empty(t, e.vaultUsers())

			// DeleteConflict recovery.
			lease = e.issue("u", nil)
			e.addExtras(lease.Data["user_name"].(string), optional)
			_, err = e.Revoke(lease.Secret)
			require.NoError(t, err)
			require.Empty(t, e.vaultUsers())

			// Rollback of an interrupted create.
			e.ts.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"CreateAccessKey": 1, "DeleteUser": 2}})
			_, err = e.Do(logical.ReadOperation, "creds/aws/u", nil)
			require.Error(t, err)
			e.ts.Core().SetFaults(emulator.Faults{})
			require.Equal(t, 1, e.WALCount())
			require.Len(t, e.vaultUsers(), 1)
			require.NoError(t, e.Rollback())
			require.Zero(t, e.WALCount())
			require.Empty(t, e.vaultUsers())

			// Audit and tidy: an orphan with this mount's mark, and
			// everything on it, is removed.
			e.markedUser("vault-orphan", "/", mark(e.mountID(), "aws"))
			e.addExtras("vault-orphan", optional)
			done := e.OK(logical.UpdateOperation, "tidy/aws", map[string]any{"dry_run": false, "min_age": 0})
			require.Equal(t, []string{"vault-orphan"}, names(t, done.Data, "removed"))
			require.Empty(t, done.Data["failed"])
			require.Empty(t, e.vaultUsers())

			// assumed_role with the mount's default TTL and a default role.
			sess := e.issue("a", nil)
			require.InDelta(t, float64(time.Hour), float64(sess.Secret.TTL), float64(2*time.Second))

			// rotate-root, then the new key issues.
			e.OK(logical.UpdateOperation, "config/aws/rotate-root", nil)
			lease = e.issue("u", nil)
			_, err = e.Revoke(lease.Secret)
			require.NoError(t, err)

			if optional {
				return
			}
			// A kind the credential may not remove is really there: the
			// revoke fails (Vault retries it), naming the kind, until the
			// SSH key is gone.
			lease = e.issue("u", nil)
			name := lease.Data["user_name"].(string)
			up, err := e.admin.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: &name, SSHPublicKeyBody: awsv2.String(awstest.SSHPublicKey(t, 2048))})
			require.NoError(t, err)
			_, err = e.Revoke(lease.Secret)
			require.ErrorContains(t, err, "DeleteUser: DeleteConflict")
			require.ErrorContains(t, err, "must delete SSH public keys first")
			require.ErrorContains(t, err, "the plugin's credential may not remove")
			require.ErrorContains(t, err, "SSH public keys (iam:ListSSHPublicKeys denied)")
			_, alive := e.ts.User(name)
			require.True(t, alive)
			_, err = e.admin.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: &name, SSHPublicKeyId: up.SSHPublicKey.SSHPublicKeyId})
			require.NoError(t, err)
			_, err = e.Revoke(lease.Secret)
			require.NoError(t, err)
			require.Empty(t, e.vaultUsers())
		})
	}
}

// Without iam:TagUser, CreateUser with tags (every issue: the mark is a
// tag) is denied as IAM denies it, and nothing is left behind; without
// iam:GetAccountAuthorizationDetails, audit fails naming it (the minimal
// policy grants no iam:ListUsers for the one-by-one fallback).
func TestMinimalIAMPolicyNeeds(t *testing.T) {
	for _, c := range []struct {
		name, drop, sid string
		path            string
		want            []string
	}{
		{"iam:TagUser", `"iam:TagUser",`, "", "creds/aws/u", []string{"CreateUser: AccessDenied", "iam:TagUser"}},
		{"iam:GetAccountAuthorizationDetails", "", "AuditInventory", "audit/aws", []string{"iam:GetAccountAuthorizationDetails is denied", "ListUsers: AccessDenied"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var drop []string
			if c.sid != "" {
				drop = append(drop, c.sid)
			}
			policy := docPolicy(t, "123456789012", drop...)
			if c.drop != "" {
				require.Contains(t, policy, c.drop)
				policy = strings.Replace(policy, c.drop, "", 1)
			}
			e := newPolicyEnv(t, policy)
			e.OK(logical.UpdateOperation, "roles/aws/u", map[string]any{"policy_document": allowS3})
			e.Coded(502, logical.ReadOperation, c.path, nil, c.want...)
			require.Empty(t, e.vaultUsers())
			require.Zero(t, e.WALCount())
		})
	}
}
