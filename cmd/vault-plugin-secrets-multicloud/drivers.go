package main

import "github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"

// drivers returns the drivers compiled into this binary.
func drivers() []providers.Driver {
	return []providers.Driver{}
}
