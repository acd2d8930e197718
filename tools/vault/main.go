// Command vault builds the real HashiCorp Vault server (v1.21.4) from the Go
// module proxy. It is a test tool for the e2e tests, the demo and the
// benchmarks; it is never a dependency of the plugin binary. Build it with
// build.sh (or `make vault`), never with a plain `go build`: the published
// vault/sdk must be patched first (see build.sh and patch-sdk.sh).
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
