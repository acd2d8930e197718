// Package aws is the AWS driver: IAM users with managed and inline
// policies, groups, tags, a permissions boundary and an access key
// (credential type iam_user), and STS assumed-role sessions
// (assumed_role).
//
// It does what Vault's builtin AWS engine does for these types with fewer
// and concurrent IAM calls: a user's attachments and its access key are
// made together after CreateUser, and revoke removes exactly what the
// lease recorded, concurrently, before DeleteUser; listing everything on
// the user happens only when IAM answers DeleteConflict, and on rollback.
// Every IAM call goes through a semaphore (max_concurrent_iam_calls) and
// the SDK's standard retryer with full-jitter exponential backoff on
// throttling and 5xx answers. See docs/providers/aws.md.
package aws

import (
	"net/http"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// DriverName is the driver's registered name and default instance name.
const DriverName = "aws"

// Credential type names.
const (
	// CredentialIAMUser is an IAM user per lease with an access key.
	CredentialIAMUser = "iam_user"
	// CredentialAssumedRole is an STS AssumeRole session.
	CredentialAssumedRole = "assumed_role"
)

// Config defaults.
const (
	defaultRegion        = "us-east-1"
	defaultMaxRetries    = 8
	defaultMaxBackoff    = 5 * time.Second
	defaultMaxConcurrent = 10
	// maxRetrySleep bounds max_retries × retry_max_backoff, so retries of
	// one call stay well under Vault's 90 s request timeout.
	maxRetrySleep = 60 * time.Second
)

// Driver is the AWS driver. It holds no per-instance state; each
// configured instance is a Provider returned by Open.
type Driver struct {
	httpClient *http.Client
}

// Option configures a Driver.
type Option func(*Driver)

// WithHTTPClient makes every instance send its AWS requests through c
// (whose Timeout, if any, bounds each attempt) instead of the SDK's
// default client with a 20 s attempt timeout. Tests use it to observe
// what the driver sends.
func WithHTTPClient(c *http.Client) Option {
	return func(d *Driver) { d.httpClient = c }
}

// New returns the AWS driver. Register it with
// providers.NewRegistry(aws.New()).
func New(opts ...Option) *Driver {
	d := &Driver{}
	for _, o := range opts {
		o(d)
	}
	return d
}

var _ providers.Driver = (*Driver)(nil)

// Info implements providers.Driver.
func (*Driver) Info() providers.DriverInfo {
	return providers.DriverInfo{
		Name:        DriverName,
		Description: "AWS: IAM users with policies, groups and an access key; STS assumed-role sessions.",
		ConfigFields: []providers.Field{
			{Name: "access_key", Type: providers.TypeString, Description: "Access key id of the IAM user the plugin acts as. Empty: the SDK's default credential chain (env, shared files, web identity, ECS/EC2 roles)."},
			{Name: "secret_key", Type: providers.TypeString, Secret: true, Description: "Secret access key of access_key."},
			{Name: "use_ambient_credentials", Type: providers.TypeBool, Default: false, Description: "Without access_key, the SDK's default credential chain (Vault's environment) signs the requests; it is used only with AWS's own endpoints unless this is true, which lets it go to the configured iam_endpoint/sts_endpoint too."},
			{Name: "region", Type: providers.TypeString, Description: "AWS region (default: AWS_REGION / shared config, else us-east-1)."},
			{Name: "iam_endpoint", Type: providers.TypeString, Description: "IAM endpoint URL override, e.g. https://iam.amazonaws.com or an emulator."},
			{Name: "sts_endpoint", Type: providers.TypeString, Description: "STS endpoint URL override."},
			{Name: "max_retries", Type: providers.TypeInt, Default: defaultMaxRetries, Description: "Retries of a throttled or failed (5xx, connection) AWS call, with jittered exponential backoff. 0 disables retries."},
			{Name: "retry_max_backoff", Type: providers.TypeDuration, Default: defaultMaxBackoff, Description: "Longest sleep between two retries; max_retries × retry_max_backoff must not exceed 60s."},
			{Name: "max_concurrent_iam_calls", Type: providers.TypeInt, Default: defaultMaxConcurrent, Description: "Most IAM calls this instance has in flight at once (IAM rate limits are per account)."},
			{Name: "max_managed_policies_per_user", Type: providers.TypeInt, Default: defaultManagedPerUser, Description: "The account's quota of managed policies attached to one IAM user (10 unless raised through Service Quotas, at most 20); roles with more policy_arns are refused."},
			{Name: "username_template", Type: providers.TypeString, Default: DefaultUsernameTemplate, Description: "IAM user name of an iam_user credential, in Vault's template language with .RoleName, .DisplayName, .Instance, .ID (required) and .UnixTime, e.g. vault-{{ .RoleName | truncate 20 }}-{{ .ID }}. Every name it can render must be a valid IAM user name (1-64 of letters, digits and +=,.@_-); checked when written. Templates of the former {{role:20}} syntax are converted."},
			{Name: "session_name_template", Type: providers.TypeString, Default: DefaultSessionNameTemplate, Description: "STS role session name of an assumed_role credential, in the language of username_template; every name it can render must be a valid session name (2-64 of letters, digits and +=,.@_-)."},
		},
		CredentialTypes: []providers.CredentialType{
			{
				Name:        CredentialIAMUser,
				Description: "An IAM user per lease with the role's managed policies, inline policy, groups, tags and boundary, and one access key. Renewable; revoke deletes the user and everything on it.",
				RoleFields: []providers.Field{
					{Name: "policy_arns", Type: providers.TypeStringList, Description: "Managed policy ARNs to attach (at most max_managed_policies_per_user of the config, 10 by default)."},
					{Name: "policy_document", Type: providers.TypeString, Description: "Inline policy JSON put on the user."},
					{Name: "iam_groups", Type: providers.TypeStringList, Description: "IAM groups to add the user to (at most 10)."},
					{Name: "iam_tags", Type: providers.TypeKVPairs, Description: "Tags of the IAM user (key=value)."},
					{Name: "permissions_boundary_arn", Type: providers.TypeString, Description: "Managed policy ARN set as the user's permissions boundary."},
					{Name: "user_path", Type: providers.TypeString, Default: "/", Description: "IAM path of the user, e.g. /vault/."},
					{Name: "wait_until_usable", Type: providers.TypeBool, Default: false, Description: "Return only once the new key is accepted by STS GetCallerIdentity (bounded by 30s), hiding IAM's eventual consistency."},
				},
				ResponseFields: []providers.Field{
					{Name: "access_key", Type: providers.TypeString, Description: "Access key id."},
					{Name: "secret_key", Type: providers.TypeString, Secret: true, Description: "Secret access key."},
					{Name: "user_name", Type: providers.TypeString, Description: "The IAM user's name."},
				},
			},
			{
				Name:        CredentialAssumedRole,
				Description: "STS AssumeRole credentials (access key, secret, session token). Not renewable; they expire by themselves and cannot be revoked early.",
				RoleFields: []providers.Field{
					{Name: "role_arns", Type: providers.TypeStringList, Required: true, Description: "IAM role ARNs this role may assume; with several, the request's role_arn picks one."},
					{Name: "policy_document", Type: providers.TypeString, Description: "Session policy JSON (narrows the role's permissions)."},
					{Name: "policy_arns", Type: providers.TypeStringList, Description: "Managed policy ARNs used as session policies (at most 10)."},
				},
				RequestFields: []providers.Field{
					{Name: "role_arn", Type: providers.TypeString, Description: "Which of the role's role_arns to assume (required when it has several)."},
				},
				ResponseFields: []providers.Field{
					{Name: "access_key", Type: providers.TypeString, Description: "Temporary access key id."},
					{Name: "secret_key", Type: providers.TypeString, Secret: true, Description: "Temporary secret access key."},
					{Name: "session_token", Type: providers.TypeString, Secret: true, Description: "Session token."},
					{Name: "role_arn", Type: providers.TypeString, Description: "The role assumed."},
					{Name: "expiration", Type: providers.TypeString, Description: "When the session expires (RFC 3339)."},
					{Name: "assumed_role_arn", Type: providers.TypeString, Description: "ARN of the assumed-role session."},
				},
				SelfExpiring: true,
			},
		},
	}
}
