// Command cloudcreds is the CI companion of the multicloud secrets engine:
// it logs in to Vault with the CI's own identity (or a token), reads
// per-run cloud credentials, runs the job's command with them in its
// environment, renews the leases while it runs and revokes them the moment
// it ends. See docs/ci.md.
package main

import (
	"os"

	"github.com/multicloud-vault/vault-plugin-secrets-multicloud/internal/cloudcreds"
)

func main() { os.Exit(cloudcreds.Main(os.Args[1:])) }
