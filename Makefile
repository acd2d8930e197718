# vault-plugin-secrets-multicloud — every routine action is a target here.
# `make help` lists them.

SHELL       := /usr/bin/env bash
MODULE      := github.com/multicloud-vault/vault-plugin-secrets-multicloud
VERSION     ?= v0.1.0
PLUGIN      := vault-plugin-secrets-multicloud
BIN         := bin
LDFLAGS     := -s -w -X $(MODULE)/internal/version.Version=$(VERSION)
GO          ?= go
GOFLAGS_TEST ?= -race -count=1
# Packages that need no Vault server; e2e/ needs bin/vault.
UNIT_PKGS    = $(shell $(GO) list ./... | grep -v '/e2e')

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build the plugin, the CI companion (cloudcreds) and the cloud emulator into bin/.
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/$(PLUGIN) ./cmd/$(PLUGIN)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/cloudcreds ./cmd/cloudcreds
	$(GO) build -trimpath -o $(BIN)/cloud-emulator ./cmd/cloud-emulator

.PHONY: vault
vault: ## Build the real Vault server (v1.21.4) into bin/vault; cached after the first (~20 min) build.
	tools/vault/build.sh

.PHONY: test
test: vault fmtcheck vet tidycheck ## Everything: unit, driver, emulator and e2e tests against the real Vault, with -race.
	E2E_REQUIRED=1 $(GO) test $(GOFLAGS_TEST) -timeout 40m ./...

.PHONY: test-unit
test-unit: ## Unit, driver and emulator tests (no Vault server), with -race.
	$(GO) test $(GOFLAGS_TEST) $(UNIT_PKGS)

# Fuzz targets (package:Name). make test runs each one's seed corpus
# (testdata/fuzz) as a regression test; make test-reliability fuzzes each
# for FUZZTIME.
FUZZ_TARGETS := \
	./providers/aws/awstest:FuzzQueryAPI \
	./providers/ncloud/ncloudtest:FuzzGateway \
	./providers/nomad/nomadtest:FuzzACLAPI \
	./providers:FuzzRoleFields \
	./providers:FuzzLeaseInternalData \
	./providers:FuzzWALRollback \
	./providers:FuzzNameTemplate
FUZZTIME    ?= 20s
# The full reliability run appends its figures here (docs/reliability.md).
RELIABILITY_RESULTS ?= $(CURDIR)/$(BIN)/reliability-results.jsonl

.PHONY: test-reliability
test-reliability: vault ## Soak, crash, plugin-kill, failover and secret-hygiene tests at full size, then every fuzz target for FUZZTIME (≤ 20 min on 2 cores).
	@rm -f $(RELIABILITY_RESULTS)
	RELIABILITY=full RELIABILITY_RESULTS=$(RELIABILITY_RESULTS) E2E_REQUIRED=1 \
		$(GO) test $(GOFLAGS_TEST) -timeout 30m ./e2e/reliability/
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $${t%%:*} || exit 1; \
	done
	@echo "figures of this run: $(RELIABILITY_RESULTS)"

.PHONY: test-e2e
test-e2e: vault ## End-to-end tests against the real Vault server only.
	E2E_REQUIRED=1 $(GO) test $(GOFLAGS_TEST) -timeout 40m ./e2e/...

.PHONY: testacc
testacc: ## Acceptance tests: the conformance suite against real clouds (VAULT_ACC=1 plus each cloud's variables, see README); skips a cloud without them.
	VAULT_ACC=1 $(GO) test -count=1 -v -timeout 30m -run 'TestAcceptance$$' ./providers/...

.PHONY: cover
cover: ## Coverage of internal/lease and plugin.
	$(GO) test -cover ./internal/lease/ ./plugin/

.PHONY: fmt
fmt: ## gofmt every Go file.
	gofmt -w $$(git ls-files '*.go')

.PHONY: fmtcheck
fmtcheck: ## Fail if a Go file is not gofmt-clean.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-clean:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet: ## go vet.
	$(GO) vet ./...

.PHONY: tidycheck
tidycheck: ## Fail if go.mod/go.sum are not tidy.
	@cp go.mod /tmp/.mc-go.mod.bak && cp go.sum /tmp/.mc-go.sum.bak; \
	$(GO) mod tidy >/dev/null 2>&1; \
	if ! diff -q go.mod /tmp/.mc-go.mod.bak >/dev/null || ! diff -q go.sum /tmp/.mc-go.sum.bak >/dev/null; then \
		git diff --stat -- go.mod go.sum; cp /tmp/.mc-go.mod.bak go.mod; cp /tmp/.mc-go.sum.bak go.sum; \
		echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; fi

.PHONY: clean
clean: ## Remove build outputs (keeps the cached Vault build).
	rm -f $(BIN)/$(PLUGIN) $(BIN)/cloudcreds $(BIN)/cloud-emulator

.PHONY: demo
demo: build vault ## Start Vault + emulated clouds + plugin, tour issue/renew/revoke/revoke -prefix, stop everything.
	$(GO) run ./cmd/multicloud-demo -bin $(BIN) -version $(VERSION)

.PHONY: dev
dev: build vault ## Like demo, but leave the stack running and print the environment to use it.
	$(GO) run ./cmd/multicloud-demo -bin $(BIN) -version $(VERSION) -stay

.PHONY: bench
bench: build vault ## Side-by-side benchmark vs Vault's builtin aws and nomad engines (about 14 min on 2 CPUs); writes bench/results.json, docs/benchmarks.md and its plot.
	$(GO) run ./bench -bin $(BIN) -version $(VERSION)

.PHONY: bench-quick
bench-quick: build vault ## A subset of the benchmark in under 2 minutes; writes to the temp directory, prints the targets.
	$(GO) run ./bench -bin $(BIN) -version $(VERSION) -quick
