package main

import (
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/aws"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/ncloud"
	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/providers/nomad"
)

// drivers returns the drivers compiled into this binary. Adding a cloud is
// one package and one line here.
func drivers() []providers.Driver {
	return []providers.Driver{
		aws.New(),
		ncloud.New(),
		nomad.New(),
	}
}
