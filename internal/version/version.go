// Package version holds the plugin's version, set at build time with
//
//	-ldflags "-X github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/version.Version=v1.2.3"
//
// and reported to Vault as the backend's RunningVersion.
package version

// Version is the plugin's semantic version, with a leading "v".
var Version = "v0.0.0-dev"
