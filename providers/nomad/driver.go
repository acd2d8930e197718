// Package nomad is the Nomad driver: each credential is a Nomad ACL token
// made for one Vault lease.
//
// The driver talks to Nomad's ACL HTTP API through the official client,
// github.com/hashicorp/nomad/api, built from the instance's config alone
// (address, token, TLS material; NOMAD_ADDR and NOMAD_TOKEN of the Vault
// process are the only environment fallbacks). A lease stores the token's
// accessor and its name, never its secret. Revoke deletes the token by
// accessor and treats Nomad's "nonexistent token" answer as success, so a
// token deleted behind Vault's back (or lost in a Nomad re-bootstrap) no
// longer makes a lease irrevocable. Every token has a unique name decided
// before it is created; Rollback finds an unfinished create's token by that
// name and deletes it. An optional Nomad-side expiration_ttl makes a token
// die by itself even if its revoke is lost, and caps the lease.
package nomad

import (
	"context"
	"time"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
)

// DriverName is the driver's registered name and default instance name.
const DriverName = "nomad"

// CredentialType is the one credential type: a Nomad ACL token.
const CredentialType = "token"

// Token types, as Nomad spells them.
const (
	typeClient     = "client"
	typeManagement = "management"
)

const (
	// nomadMaxTokenNameLength is Nomad's own limit on a token name (bytes).
	nomadMaxTokenNameLength = 256
	// defaultNameTemplate names a token after its role, requester and the
	// request's unique id.
	defaultNameTemplate = "vault-{{.RoleName}}-{{.DisplayName}}-{{.ID}}"
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
			{Name: fieldAddress, Type: providers.TypeString, Description: "Nomad HTTP API address, e.g. https://nomad.example.com:4646. Default: NOMAD_ADDR of the Vault process."},
			{Name: fieldToken, Type: providers.TypeString, Secret: true, Description: "Nomad management token the plugin creates and deletes tokens with. Default: NOMAD_TOKEN of the Vault process."},
			{Name: fieldCACert, Type: providers.TypeString, Description: "PEM CA certificate(s) that verify Nomad's TLS certificate (default: the system roots)."},
			{Name: fieldClientCert, Type: providers.TypeString, Description: "PEM client certificate, when Nomad requires one (tls.verify_https_client)."},
			{Name: fieldClientKey, Type: providers.TypeString, Secret: true, Description: "PEM private key of client_cert."},
			{Name: fieldTLSServerName, Type: providers.TypeString, Description: "Server name (SNI) to verify Nomad's certificate against, if it differs from the address's host."},
			{Name: fieldRegion, Type: providers.TypeString, Description: "Nomad region the ACL requests go to (default: the agent's region)."},
			{Name: fieldMaxNameLength, Type: providers.TypeInt, Default: nomadMaxTokenNameLength, Description: "Longest token name, 1 to 256 bytes; the display name part is shortened to fit."},
			{Name: fieldNameTemplate, Type: providers.TypeString, Default: defaultNameTemplate, Description: "Go template of token names, with .RoleName, .DisplayName, .ID, .Instance and .UnixTime and the functions lowercase, uppercase, replace and truncate; it must contain {{.ID}} so every name is unique."},
		},
		CredentialTypes: []providers.CredentialType{{
			Name:        CredentialType,
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
