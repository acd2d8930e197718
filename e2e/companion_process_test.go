package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"
)

// TestCompanionCredentialProcess: `cloudcreds credential-process` as the
// credential_process of an AWS profile; aws-sdk-go-v2 loads the profile,
// runs it through its processcreds provider, and the keys pass the
// emulator's signature check; Expiration is the lease's end (an IAM
// user) or the STS session's (an assumed role) (Done means 4).
func TestCompanionCredentialProcess(t *testing.T) {
	c := newCIStack(t)
	roleARN := createAssumableRole(t, c.stack)
	c.write(t, "roles/aws/assume", map[string]any{"credential_type": "assumed_role", "role_arns": roleARN, "ttl": "15m"})
	token := c.ciToken(t)

	// The SDK runs credential_process with the test's own environment.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("VAULT_ADDR", c.vault.Addr())
	t.Setenv("VAULT_TOKEN", token)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")

	for _, tc := range []struct {
		role    string
		arn     string
		session bool
		ttl     time.Duration
	}{
		{role: "ci", arn: ":user/", ttl: 10 * time.Minute},
		{role: "assume", arn: ":assumed-role/", session: true, ttl: 15 * time.Minute},
	} {
		t.Run(tc.role, func(t *testing.T) {
			before := c.cloudCounts()
			cfgFile := filepath.Join(home, "aws-config-"+tc.role)
			require.NoError(t, os.WriteFile(cfgFile, []byte("[profile ci]\ncredential_process = "+c.bin+
				" credential-process --quiet --cred "+mount+"/creds/aws/"+tc.role+"\nregion = us-east-1\n"), 0o600))
			ctx := context.Background()
			cfg, err := config.LoadDefaultConfig(ctx,
				config.WithSharedConfigFiles([]string{cfgFile}),
				config.WithSharedCredentialsFiles([]string{filepath.Join(home, "none")}),
				config.WithSharedConfigProfile("ci"))
			require.NoError(t, err)
			started := time.Now()
			creds, err := cfg.Credentials.Retrieve(ctx)
			require.NoError(t, err, "processcreds accepts the output")
			took := time.Since(started)
			require.Equal(t, "ProcessProvider", creds.Source)
			require.True(t, creds.CanExpire)
			require.WithinDuration(t, time.Now().Add(tc.ttl), creds.Expires, 30*time.Second, "Expiration is the lease's end")
			require.Equal(t, tc.session, creds.SessionToken != "")

			out, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(c.aws.URL) }).
				GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			require.NoError(t, err, "the key passes the emulator's SigV4 check")
			require.Contains(t, aws.ToString(out.Arn), tc.arn)

			// The lease lives on (that is the point); revoke it here.
			list, err := c.client.Logical().List("sys/leases/lookup/" + mount + "/creds/aws/" + tc.role + "/")
			require.NoError(t, err)
			require.NotNil(t, list)
			keys := list.Data["keys"].([]any)
			require.Len(t, keys, 1)
			c.revoke(t, mount+"/creds/aws/"+tc.role+"/"+str(keys[0]))
			if tc.session {
				// An STS session cannot be ended early; it expires.
				before.aws["sessions"]++
			}
			c.requireBaseline(t, before, tc.role)
			t.Logf("%s: credential_process answered in %s", tc.role, took.Round(time.Millisecond))
		})
	}
}
