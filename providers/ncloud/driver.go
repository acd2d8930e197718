// Package ncloud is the Naver Cloud Platform (Ncloud) driver: temporary
// STS keys (credential type "sts") and revocable per-lease sub accounts
// (credential type "sub_account").
//
// It speaks two Ncloud APIs through a small JSON client of its own, signed
// with the SDK's hmac signer:
//
//   - Secure Token Service, POST /api/v1/credentials (management-sts-creatests)
//     and GET /api/v1/caller-identity (get-caller-identity)
//   - Sub Account API v2, /api/v2/... (pub-iam-v2-*), the "Ncloud API
//     standard" version, chosen over v1 because it has typed error codes
//     (404 SubAccountNotFound instead of v1's 401/30, which collides with
//     the gateway's authentication errors), atomic policy attach and a
//     cascading sub account delete that removes the access keys in the
//     same call; and v1's sub account list for its loginId search, which
//     v2's list lacks (management-subaccount-getsubaccounts)
//
// A sub_account lease is bound to the Ncloud account and site (Target);
// the steps of its create are resumed after a lost answer (resume.go).
//
// Register it with ncloud.New().
package ncloud

import (
	"net/http"
	"time"

	"github.com/NaverCloudPlatform/ncloud-sdk-go-v2/ncloud/credentials"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// DriverName is the driver's registered name.
const DriverName = "ncloud"

// Credential type names.
const (
	// CredentialSTS is a temporary STS key of the configured sub account.
	CredentialSTS = "sts"
	// CredentialSubAccount is a sub account made for one lease.
	CredentialSubAccount = "sub_account"
)

// Config field names.
const (
	fieldAccessKey          = "access_key"
	fieldSecretKey          = "secret_key"
	fieldSite               = "site"
	fieldSTSEndpoint        = "sts_endpoint"
	fieldSubAccountEndpoint = "subaccount_endpoint"
	fieldRequestTimeout     = "request_timeout"
	fieldMaxRetries         = "max_retries"
	fieldRootSubAccountID   = "root_sub_account_id"
	fieldUseAmbient         = "use_ambient_credentials"
)

// Role field names.
const (
	fieldPolicies      = "policies"
	fieldLoginTemplate = "login_id_template"
)

const (
	defaultRequestTimeout = 15 * time.Second
	// defaultMaxRetries: 27% of calls failing (20% throttled, 5% 5xx,
	// 2% dropped) leave a step failing all of 1+5 attempts 4e-4 of the
	// time; with 3 retries it was 5e-3 a step, 2% an issuance.
	defaultMaxRetries = 5
)

// Driver is the Ncloud driver. It is safe for concurrent use and holds no
// per-instance state.
type Driver struct {
	httpClient *http.Client
	now        func() time.Time
	chain      func() []credentials.Provider
}

// Option configures a Driver.
type Option func(*Driver)

// WithHTTPClient makes every instance use c (its Transport and Timeout).
// Tests use it to see the requests the driver builds without a network.
func WithHTTPClient(c *http.Client) Option {
	return func(d *Driver) { d.httpClient = c }
}

// WithClock replaces the clock used for request timestamps (tests whose
// emulator runs on a shifted clock).
func WithClock(now func() time.Time) Option {
	return func(d *Driver) { d.now = now }
}

// WithCredentialChain replaces the SDK's default credential chain (env,
// ~/.ncloud/configure, server role) used when a config has no keys.
func WithCredentialChain(chain func() []credentials.Provider) Option {
	return func(d *Driver) { d.chain = chain }
}

// New returns the Ncloud driver.
func New(opts ...Option) *Driver {
	d := &Driver{now: time.Now, chain: credentials.DefaultCredentialsChain}
	for _, o := range opts {
		o(d)
	}
	return d
}

var _ providers.Driver = (*Driver)(nil)

// Info describes the driver's config, credential types and role fields.
func (d *Driver) Info() providers.DriverInfo {
	return providers.DriverInfo{
		Name:        DriverName,
		Description: "Naver Cloud Platform: STS temporary keys and revocable per-lease sub accounts.",
		ConfigFields: []providers.Field{
			{Name: fieldAccessKey, Type: providers.TypeString, Description: "Access key of the sub account Vault acts as. Unset: the SDK's credential chain (NCLOUD_ACCESS_KEY/NCLOUD_SECRET_KEY, ~/.ncloud/configure, server role)."},
			{Name: fieldSecretKey, Type: providers.TypeString, Secret: true, Description: "Secret key of access_key."},
			{Name: fieldSite, Type: providers.TypeString, Default: sitePublic, AllowedValues: []string{sitePublic, siteGov, siteFin}, Description: "Ncloud site: public (ntruss.com), gov (gov-ntruss.com) or fin (fin-ntruss.com)."},
			{Name: fieldSTSEndpoint, Type: providers.TypeString, Description: "Override of the Secure Token Service base URL (default: the site's https://sts.apigw.<site domain>)."},
			{Name: fieldSubAccountEndpoint, Type: providers.TypeString, Description: "Override of the Sub Account API base URL (default: the site's https://subaccount.apigw.<site domain>)."},
			{Name: fieldRequestTimeout, Type: providers.TypeDuration, Default: defaultRequestTimeout, Description: "Timeout of one HTTP request to Ncloud (each retry gets its own)."},
			{Name: fieldMaxRetries, Type: providers.TypeInt, Default: defaultMaxRetries, Description: "Retries of a call that failed with 429, 5xx or no answer (jittered backoff); a create is tried again only after learning what the failed attempt did. 0 disables them."},
			{Name: fieldRootSubAccountID, Type: providers.TypeString, Description: "Sub account id (UUID) that owns access_key, for rotate-root; unset: STS caller-identity tells it."},
			{Name: fieldUseAmbient, Type: providers.TypeBool, Default: false, Description: "Send credentials found outside the config (NCLOUD_ACCESS_KEY/NCLOUD_SECRET_KEY, ~/.ncloud/configure, server role) to sts_endpoint/subaccount_endpoint overrides too. Unset, they only go to the site's own Ncloud endpoints."},
		},
		CredentialTypes: []providers.CredentialType{
			{
				Name:        CredentialSTS,
				Description: "A temporary STS key of the configured sub account; durationSec = lease TTL (600-43200 s). Expires by itself; cannot be revoked early.",
				ResponseFields: []providers.Field{
					{Name: "access_key", Type: providers.TypeString, Description: "Temporary access key."},
					{Name: "secret_key", Type: providers.TypeString, Secret: true, Description: "Its secret key."},
					{Name: "create_time", Type: providers.TypeString, Description: "When Ncloud made the key."},
					{Name: "expire_time", Type: providers.TypeString, Description: "When the key expires."},
				},
				SelfExpiring: true,
			},
			{
				Name:        CredentialSubAccount,
				Description: "A sub account per lease (API access only) with the role's policies and one access key; revoke deletes both.",
				RoleFields: []providers.Field{
					{Name: fieldPolicies, Type: providers.TypeStringList, Required: true, Description: "Policies (names or policy ids) attached to each sub account."},
					{Name: fieldLoginTemplate, Type: providers.TypeString, Default: defaultLoginTemplate, Description: "Template of the sub account loginId, after the mount's mark prefix mc.<mount_id>. (12 characters), in Vault's template language: fields .RoleName .DisplayName .Instance .ID .UnixTime, functions truncate, lowercase, replace, printf... It must contain {{ .ID }} and render 3-48 letters, digits and . @ - _, starting with a letter, for any role and display name (checked when written). Old templates with .Role are converted."},
				},
				ResponseFields: []providers.Field{
					{Name: "access_key", Type: providers.TypeString, Description: "The sub account's access key."},
					{Name: "secret_key", Type: providers.TypeString, Secret: true, Description: "Its secret key."},
					{Name: "sub_account_id", Type: providers.TypeString, Description: "The sub account's id."},
					{Name: "login_id", Type: providers.TypeString, Description: "The sub account's loginId."},
				},
			},
		},
	}
}
