// Package nomad is the Nomad driver: each credential is a Nomad ACL token
// made for one Vault lease.
//
// The driver talks to Nomad's ACL HTTP API through the official client,
// github.com/hashicorp/nomad/api, built from the instance's config alone
// (address, token, TLS material; NOMAD_ADDR and NOMAD_TOKEN of the Vault
// process only as a pair, or the token with use_ambient_credentials). A
// lease stores the token's accessor, its name and the region that owns it,
// never its secret; it is bound to the cluster's address and region
// (Target, from /v1/agent/self). A global token is created, deleted and
// rolled back in the ACL authoritative region, and Nomad's "nonexistent
// token" answer counts as revoked only from the region that owns the token,
// so a token deleted behind Vault's back no longer makes a lease
// irrevocable while a token another region has not replicated yet is not
// taken for gone. Every token has a unique name decided before it is
// created: a create whose answer was lost is found by that name instead of
// made twice, and Rollback deletes an unfinished create's token by it.
// Calls are retried on 429, 5xx and dropped connections. An optional
// Nomad-side expiration_ttl makes a token die by itself even if its revoke
// is lost, and caps the lease.
package nomad

import (
	"context"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// DriverName is the driver's registered name and default instance name.
const DriverName = "nomad"

// CredentialToken is the one credential type: a Nomad ACL token.
const CredentialToken = "token"

// Token types, as Nomad spells them.
const (
	typeClient     = "client"
	typeManagement = "management"
)

// Config field names.
const (
	fieldAddress       = "address"
	fieldToken         = "token"
	fieldCACert        = "ca_cert"
	fieldClientCert    = "client_cert"
	fieldClientKey     = "client_key"
	fieldTLSServerName = "tls_server_name"
	fieldRegion        = "region"
	fieldMaxNameLength = "max_token_name_length"
	fieldNameTemplate  = "token_name_template"
	fieldUseAmbient    = "use_ambient_credentials"
	fieldMaxRetries    = "max_retries"
	fieldMaxBackoff    = "retry_max_backoff"
)

// Role field names.
const (
	fieldType          = "type"
	fieldPolicies      = "policies"
	fieldRoles         = "roles"
	fieldGlobal        = "global"
	fieldExpirationTTL = "expiration_ttl"
)

// Driver is the Nomad driver. It holds no state; each configured instance
// is a provider returned by Open.
type Driver struct {
	getenv func(string) string
	now    func() time.Time
}

// Option configures a Driver.
type Option func(*Driver)

// WithGetenv replaces os.Getenv for the NOMAD_ADDR and NOMAD_TOKEN
// fallbacks (tests use it instead of changing the process environment).
func WithGetenv(getenv func(string) string) Option {
	return func(d *Driver) { d.getenv = getenv }
}

// WithClock replaces time.Now (the issue time of rotate-root's token
// name and the role checks' sample names).
func WithClock(now func() time.Time) Option {
	return func(d *Driver) { d.now = now }
}

// New returns the Nomad driver. Register it with
// providers.NewRegistry(nomad.New()).
func New(opts ...Option) *Driver {
	d := &Driver{getenv: osGetenv, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	return d
}

var _ providers.Driver = (*Driver)(nil)

// Info implements providers.Driver.
func (d *Driver) Info() providers.DriverInfo {
	return providers.DriverInfo{
		Name:        DriverName,
		Description: "Nomad ACL tokens; the lease stores only the token's accessor.",
		ConfigFields: []providers.Field{
			{Name: fieldAddress, Type: providers.TypeString, Description: "Nomad HTTP API address, e.g. https://nomad.example.com:4646. Default: NOMAD_ADDR of the Vault process (with its NOMAD_TOKEN)."},
			{Name: fieldToken, Type: providers.TypeString, Secret: true, Description: "Nomad management token the plugin creates and deletes tokens with. Default: NOMAD_TOKEN of the Vault process, only when address is unset too (or use_ambient_credentials is true)."},
			{Name: fieldUseAmbient, Type: providers.TypeBool, Default: false, Description: "Send NOMAD_TOKEN of the Vault process to an address set in the config. Without it, NOMAD_TOKEN is only used with NOMAD_ADDR."},
			{Name: fieldCACert, Type: providers.TypeString, Description: "PEM CA certificate(s) that verify Nomad's TLS certificate (default: the system roots)."},
			{Name: fieldClientCert, Type: providers.TypeString, Description: "PEM client certificate, when Nomad requires one (tls.verify_https_client)."},
			{Name: fieldClientKey, Type: providers.TypeString, Secret: true, Description: "PEM private key of client_cert."},
			{Name: fieldTLSServerName, Type: providers.TypeString, Description: "Server name (SNI) to verify Nomad's certificate against, if it differs from the address's host."},
			{Name: fieldRegion, Type: providers.TypeString, Description: "Nomad region the ACL requests go to (default: the agent's region)."},
			{Name: fieldMaxRetries, Type: providers.TypeInt, Default: defaultMaxRetries, Description: "Retries of a Nomad call answered 429 or 5xx or cut off, with jittered exponential backoff; a token create whose answer was lost is looked up by name before it is tried again. 0 disables retries."},
			{Name: fieldMaxBackoff, Type: providers.TypeDuration, Default: defaultMaxBackoff, Description: "Longest pause between two retries; max_retries × retry_max_backoff must not exceed 60s."},
			{Name: fieldMaxNameLength, Type: providers.TypeInt, Default: nomadMaxTokenNameLength, Description: "Longest token name, 1 to 256 bytes (Nomad's limit), the mark prefix mc:<mount_id>:<instance>: included; token_name_template must fit what the prefix leaves for any role and display name."},
			{Name: fieldNameTemplate, Type: providers.TypeString, Default: defaultNameTemplate, Description: "Token name template in Vault's username_template language, with .RoleName, .DisplayName, .Instance, .ID and .UnixTime; it must contain {{ .ID }} and fit max_token_name_length less the mark prefix mc:<mount_id>:<instance>: the driver puts in front (cut long parts with truncate). The default's truncate follows what is left."},
		},
		CredentialTypes: []providers.CredentialType{{
			Name:        CredentialToken,
			Description: "A Nomad ACL token per lease; revoke deletes it by accessor.",
			RoleFields: []providers.Field{
				{Name: fieldType, Type: providers.TypeString, Default: typeClient, AllowedValues: []string{typeClient, typeManagement}, Description: "Token type: client (policies and/or ACL roles) or management (no policies)."},
				{Name: fieldPolicies, Type: providers.TypeStringList, Description: "Nomad ACL policy names of a client token; each must exist in Nomad."},
				{Name: fieldRoles, Type: providers.TypeStringList, Description: "Nomad ACL role names of a client token; each must exist in Nomad."},
				{Name: fieldGlobal, Type: providers.TypeBool, Default: false, Description: "Create a global token, replicated to every region."},
				{Name: fieldExpirationTTL, Type: providers.TypeDuration, Description: "Nomad-side expiration of each token (0: none); it caps the lease, and the token dies even if its revoke is lost. Must lie within Nomad's acl.token_min_expiration_ttl and token_max_expiration_ttl (by default 1m to 24h)."},
			},
			ResponseFields: []providers.Field{
				{Name: "secret_id", Type: providers.TypeString, Secret: true, Description: "The token's secret (X-Nomad-Token); never stored by the plugin."},
				{Name: "accessor_id", Type: providers.TypeString, Description: "The token's accessor."},
				{Name: "name", Type: providers.TypeString, Description: "The token's name."},
				{Name: "type", Type: providers.TypeString, Description: "client or management."},
				{Name: "global", Type: providers.TypeBool, Description: "Whether the token is global."},
				{Name: "policies", Type: providers.TypeStringList, Description: "Its ACL policies."},
				{Name: "roles", Type: providers.TypeStringList, Description: "Its ACL roles."},
				{Name: "expiration_time", Type: providers.TypeString, Description: "Nomad-side expiration (RFC 3339), if any."},
				{Name: "address", Type: providers.TypeString, Description: "The Nomad HTTP API address the token is for (NOMAD_ADDR)."},
			},
		}},
	}
}

// Open implements providers.Driver: it validates the config, builds the
// Nomad client and checks, with one read of /v1/acl/token/self, that the
// token is a management token Nomad accepts.
func (d *Driver) Open(ctx context.Context, req providers.OpenRequest) (providers.Provider, error) {
	return d.open(ctx, req)
}
