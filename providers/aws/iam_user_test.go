package aws_test

import (
	"slices"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/stretchr/testify/require"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
)

const boundaryARN = "arn:aws:iam::aws:policy/PowerUserAccess"

// fullRole sets up 3 managed policies, 2 groups and a role using them with
// an inline policy, tags, a boundary and a path. It returns the policy ARNs.
func (e *env) fullRole(name string, extra map[string]any) []string {
	e.T.Helper()
	arns := []string{e.policy("p1"), e.policy("p2"), "arn:aws:iam::aws:policy/ReadOnlyAccess"}
	e.group("devs")
	e.group("ops")
	role := map[string]any{
		"credential_type":          "iam_user",
		"policy_arns":              arns,
		"policy_document":          allowS3,
		"iam_groups":               []string{"devs", "ops"},
		"iam_tags":                 map[string]any{"team": "core", "env": "ci"},
		"permissions_boundary_arn": boundaryARN,
		"user_path":                "/vault/",
	}
	for k, v := range extra {
		role[k] = v
	}
	e.OK(logical.UpdateOperation, "roles/aws/"+name, role)
	return arns
}

// Done means 1: the issued key works and the user is exactly the role.
func TestIAMUserIssue(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	arns := e.fullRole("full", nil)

	resp := e.issue("full", nil)
	ak, sk := resp.Data["access_key"].(string), resp.Data["secret_key"].(string)
	name := resp.Data["user_name"].(string)
	require.Regexp(t, `^vault-token-ci-full-[a-z2-7]{13}$`, name)
	require.True(t, resp.Secret.Renewable)
	require.Zero(t, e.WALCount())

	arn, err := e.whoAmI(ak, sk, "")
	require.NoError(t, err, "the issued key must pass SigV4 at the emulator")
	require.Equal(t, "arn:aws:iam::123456789012:user/vault/"+name, arn)

	u, ok := e.ts.User(name)
	require.True(t, ok)
	require.Equal(t, "/vault/", u.Path)
	require.Equal(t, boundaryARN, u.Boundary)
	require.ElementsMatch(t, []awstest.Tag{{Key: "env", Value: "ci"}, {Key: "team", Value: "core"},
		{Key: aws.MarkMountTag, Value: e.mountID()}, {Key: aws.MarkInstanceTag, Value: "aws"}}, u.Tags, "the role's tags and the mark")
	require.ElementsMatch(t, arns, u.ManagedPolicies)
	require.Equal(t, map[string]string{"vault-full": allowS3}, u.InlinePolicies)
	require.ElementsMatch(t, []string{"devs", "ops"}, u.Groups)
	require.Equal(t, []awstest.AccessKey{{ID: ak, Status: "Active"}}, u.AccessKeys)

	// Internal data holds what revoke needs and no secret.
	internal := resp.Secret.InternalData["data"].(string)
	require.NotContains(t, internal, sk)
	require.Contains(t, internal, ak)

	// Renew: an IAM user has no hard expiry.
	rr, err := e.Renew(resp.Secret, time.Hour, time.Now())
	require.NoError(t, err)
	require.False(t, rr.IsError())
}

// Done means 2: every call after CreateUser is in flight together.
func TestIAMUserCreateIsConcurrent(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	e.fullRole("full", nil)
	e.ts.Core().Reset()
	e.ts.Core().SetFaults(emulator.Faults{LatencyMS: 150})

	e.issue("full", nil)
	calls := e.ts.Core().Calls()
	after := []string{"AttachUserPolicy", "PutUserPolicy", "AddUserToGroup", "CreateAccessKey"}
	require.Equal(t, 1, calls.Counts["CreateUser"])
	require.Equal(t, 3+1+2+1, calls.Counts["AttachUserPolicy"]+calls.Counts["PutUserPolicy"]+calls.Counts["AddUserToGroup"]+calls.Counts["CreateAccessKey"])
	require.Equal(t, 7, calls.MaxOverlap(after...), "all 7 calls after CreateUser must be in flight at once")
	require.Equal(t, 1, calls.MaxOverlap(append(after, "CreateUser")...)-6, "CreateUser must finish before the others start")
	require.Equal(t, 8, iamCalls(calls.Counts), "create: CreateUser + 3 attach + 1 put + 2 groups + 1 key")
}

// max_concurrent_iam_calls caps the calls in flight.
func TestIAMCallCap(t *testing.T) {
	e := newEnv(t, awstest.Options{}, map[string]any{"max_concurrent_iam_calls": 2})
	e.fullRole("full", nil)
	e.ts.Core().Reset()
	e.ts.Core().SetFaults(emulator.Faults{LatencyMS: 50})

	resp := e.issue("full", nil)
	_, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	require.Equal(t, 2, e.ts.Core().Calls().MaxOverlap())
	require.Empty(t, e.vaultUsers())
}

// Done means 3: revoke removes exactly what was attached with no List call.
func TestIAMUserRevokeFresh(t *testing.T) {
	e := newEnv(t, awstest.Options{}, nil)
	e.fullRole("full", nil)
	before := e.ts.State()
	resp := e.issue("full", nil)
	name := resp.Data["user_name"].(string)

	e.ts.Core().Reset()
	_, err := e.Revoke(resp.Secret)
	require.NoError(t, err)
	counts := e.ts.Core().Calls().Counts
	attachments := 3 + 1 + 2 + 1 // policies, inline, groups, key
	require.Zero(t, listCalls(counts), "no List/Get call: %v", counts)
	require.LessOrEqual(t, iamCalls(counts), attachments+1, "calls: %v", counts)
	require.Equal(t, map[string]int{"DeleteAccessKey": 1, "DetachUserPolicy": 3, "DeleteUserPolicy": 1, "RemoveUserFromGroup": 2, "DeleteUser": 1}, counts)
	_, exists := e.ts.User(name)
	require.False(t, exists)
	require.Equal(t, before, e.ts.State())

	// Revoking twice succeeds.
	_, err = e.Revoke(resp.Secret)
	require.NoError(t, err)
}

// Done means 3: a user someone added things to is still removed entirely.
func TestIAMUserRevokeWithExtras(t *testing.T) {
	e := newEnv(t, awstest.Options{PageSize: 2}, nil)
	e.fullRole("full", nil)
	extraPolicies := []string{e.policy("x1"), e.policy("x2"), e.policy("x3")}
	before := e.ts.State()
	resp := e.issue("full", nil)
	name := resp.Data["user_name"].(string)
	u := awsv2.String(name)

	// Behind the lease's back: login profile, MFA, SSH key, signing
	// certificate, service-specific credential, a second key, more
	// policies than one page holds, and more inline policies.
	_, err := e.admin.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: u, Password: awsv2.String("Corr3ct-Horse-Battery!")})
	require.NoError(t, err)
	dev, err := e.admin.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: awsv2.String("extra-mfa")})
	require.NoError(t, err)
	_, err = e.admin.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: u, SerialNumber: dev.VirtualMFADevice.SerialNumber,
		AuthenticationCode1: awsv2.String("123456"), AuthenticationCode2: awsv2.String("654321")})
	require.NoError(t, err)
	_, err = e.admin.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: u, SSHPublicKeyBody: awsv2.String(awstest.SSHPublicKey(t, 2048))})
	require.NoError(t, err)
	_, err = e.admin.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: u, CertificateBody: awsv2.String(awstest.SigningCertificatePEM(t))})
	require.NoError(t, err)
	_, err = e.admin.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: u, ServiceName: awsv2.String("codecommit.amazonaws.com")})
	require.NoError(t, err)
	_, err = e.admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: u})
	require.NoError(t, err)
	for _, arn := range extraPolicies {
		_, err = e.admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: u, PolicyArn: awsv2.String(arn)})
		require.NoError(t, err)
	}
	for _, pn := range []string{"extra-a", "extra-b", "extra-c"} {
		_, err = e.admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: u, PolicyName: awsv2.String(pn), PolicyDocument: awsv2.String(allowS3)})
		require.NoError(t, err)
	}

	e.ts.Core().Reset()
	_, err = e.Revoke(resp.Secret)
	require.NoError(t, err)
	_, exists := e.ts.User(name)
	require.False(t, exists)
	counts := e.ts.Core().Calls().Counts
	require.Equal(t, 2, counts["DeleteUser"], "one conflict, then success: %v", counts)
	// The exact removal detached the role's 3 policies; the 3 extra ones
	// are listed in two pages of 2.
	require.Equal(t, 2, counts["ListAttachedUserPolicies"], "calls: %v", counts)
	require.Equal(t, 6, counts["DetachUserPolicy"], "calls: %v", counts)

	after := e.ts.State()
	// The virtual MFA device is only deactivated, never deleted: it was not ours.
	require.Equal(t, before["mfa_devices"]+1, after["mfa_devices"])
	delete(before, "mfa_devices")
	delete(after, "mfa_devices")
	require.Equal(t, before, after)

	_, err = e.Revoke(resp.Secret)
	require.NoError(t, err, "revoking twice succeeds")
}

// Done means 4: a failure at any single create step leaves no user and
// names the step.
func TestIAMUserCreateFailureUndone(t *testing.T) {
	steps := []string{"CreateUser", "AttachUserPolicy", "PutUserPolicy", "AddUserToGroup", "CreateAccessKey"}
	for _, stepName := range steps {
		t.Run(stepName, func(t *testing.T) {
			e := newEnv(t, awstest.Options{}, map[string]any{"max_retries": 0})
			e.fullRole("full", nil)
			before := e.ts.State()
			e.ts.Core().SetFaults(emulator.Faults{FailActions: map[string]int{stepName: 1000}})

			_, err := e.Do(logical.ReadOperation, "creds/aws/full", nil)
			require.Error(t, err)
			require.Contains(t, err.Error(), stepName)
			var ce logical.HTTPCodedError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, 502, ce.Code())

			require.Empty(t, e.vaultUsers())
			require.Equal(t, before, e.ts.State())
			require.Zero(t, e.WALCount(), "the immediate rollback succeeded, so no WAL entry is left")
		})
	}
}

// Done means 6: wait_until_usable returns a key that works on first use.
func TestIAMUserWaitUntilUsable(t *testing.T) {
	e := newEnv(t, awstest.Options{KeyDelay: 2 * time.Second}, nil)
	e.OK(logical.UpdateOperation, "roles/aws/wait", map[string]any{"policy_document": allowS3, "wait_until_usable": true})
	e.OK(logical.UpdateOperation, "roles/aws/nowait", map[string]any{"policy_document": allowS3})

	// Without waiting, IAM's eventual consistency shows.
	resp := e.issue("nowait", nil)
	_, err := e.whoAmI(resp.Data["access_key"].(string), resp.Data["secret_key"].(string), "")
	require.Error(t, err)

	start := time.Now()
	resp = e.issue("wait", nil)
	require.GreaterOrEqual(t, time.Since(start), time.Second)
	require.Empty(t, resp.Warnings)
	_, err = e.whoAmI(resp.Data["access_key"].(string), resp.Data["secret_key"].(string), "")
	require.NoError(t, err, "the key must work on first use")
}

// Users left behind by an interrupted create are removed by rollback,
// from the user name alone.
func TestIAMUserRollbackRemovesEverything(t *testing.T) {
	e := newEnv(t, awstest.Options{}, map[string]any{"max_retries": 0})
	e.fullRole("full", nil)
	before := e.ts.State()

	// CreateAccessKey drops the connection: the create fails and the
	// immediate rollback (GetUser) fails too, so the WAL entry stays.
	e.ts.Core().SetFaults(emulator.Faults{FailActions: map[string]int{"CreateAccessKey": 1, "DeleteUser": 1, "DetachUserPolicy": 3}})
	_, err := e.Do(logical.ReadOperation, "creds/aws/full", nil)
	require.Error(t, err)
	require.Equal(t, 1, e.WALCount())
	require.Len(t, e.vaultUsers(), 1)

	e.ts.Core().Reset()
	require.NoError(t, e.Rollback())
	require.Zero(t, e.WALCount())
	require.Empty(t, e.vaultUsers())
	require.Equal(t, before, e.ts.State())
	counts := e.ts.Core().Calls().Counts
	require.Equal(t, 1, counts["GetUser"])
	require.True(t, slices.ContainsFunc([]string{"ListAttachedUserPolicies", "ListGroupsForUser"}, func(a string) bool { return counts[a] > 0 }))
}
