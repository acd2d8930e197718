// Package cloudcreds is the CI companion behind cmd/cloudcreds: Vault
// login with the CI's identity (token, JWT from an environment variable, a
// file or GitHub Actions' OIDC endpoint, AppRole), credentials read from
// the multicloud engine (or any engine with the same fields) and handed to
// a command through its environment, renewed with vault/api's
// LifetimeWatcher while it runs, and revoked with the login token on every
// way out the companion survives. Exit statuses are in exit.go.
//
// Secrets travel only through the command's environment and, for env and
// credential-process whose purpose it is, stdout; never a command line,
// never a log line.
package cloudcreds
