// Package clouds is the one list of the clouds this repository ships, for
// the programs and tests that run them all: cmd/cloud-emulator, the demo,
// the e2e and reliability tests (the benchmark, which compares two clouds
// with Vault's builtin engines, takes their environment variables from
// it). Each entry pairs a
// driver with its emulator; nothing else names the clouds one by one.
// Adding a cloud is its driver package, its emulator package, one line here
// and one line in cmd/vault-plugin-secrets-multicloud/drivers.go (the
// plugin binary, which carries no emulator).
package clouds

import (
	"sort"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/emulator"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws/awstest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud/ncloudtest"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad/nomadtest"
)

// Cloud is one cloud: its emulator and its driver.
type Cloud struct {
	emulator.Cloud
	// Driver returns a new instance of the cloud's driver.
	Driver func() providers.Driver
}

// all is the list: one line per cloud.
var all = []Cloud{
	{awstest.Cloud, func() providers.Driver { return aws.New() }},
	{ncloudtest.Cloud, func() providers.Driver { return ncloud.New() }},
	{nomadtest.Cloud, func() providers.Driver { return nomad.New() }},
}

// All returns every cloud, sorted by name.
func All() []Cloud {
	out := append([]Cloud(nil), all...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Get returns the cloud named name.
func Get(name string) (Cloud, bool) {
	for _, c := range all {
		if c.Name() == name {
			return c, true
		}
	}
	return Cloud{}, false
}

// Registry returns a registry of every cloud's driver, as the plugin binary
// builds it.
func Registry() *providers.Registry {
	drivers := make([]providers.Driver, 0, len(all))
	for _, c := range All() {
		drivers = append(drivers, c.Driver())
	}
	return providers.MustRegistry(drivers...)
}

// EnvPrefixes are every cloud's environment variable prefixes.
func EnvPrefixes() []string {
	var out []string
	for _, c := range All() {
		out = append(out, c.EnvPrefixes()...)
	}
	return out
}
