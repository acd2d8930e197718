#!/usr/bin/env bash
# build.sh builds the real HashiCorp Vault server used by the e2e tests, the
# demo and the benchmarks into <repo>/bin/vault. `make vault` calls it.
#
# Vault v1.21.4 cannot be built as a plain dependency: its in-tree sdk matches
# no published github.com/hashicorp/vault/sdk. This script (see
# docs/reference/vault-build.md for the why):
#   1. downloads the module dependencies of tools/vault (first time: ~4 GB);
#   2. copies the published sdk v0.21.0 from the module cache into
#      tools/vault/build/sdk and applies exactly two changes with
#      tools/vault/patchsdk (ActivationFunc without its string parameter,
#      RestorePolicy as in sdk v0.25.1);
#   3. points a COPY of go.mod (tools/vault/build/go.build.mod, used via
#      -modfile) at that directory, so the committed go.mod/go.sum stay clean;
#   4. go build -mod=mod -trimpath -ldflags "-s -w" -o bin/vault;
#   5. writes bin/.vault.stamp: the sha256 of the pins, this script (less its
#      comment lines, so editing the documentation rebuilds nothing), the
#      patch program, main.go and go.mod/go.sum. When bin/vault exists and
#      the stamp matches, the script does nothing.
#
# A `vault` already on PATH reporting "Vault v1.21.x" is used instead of
# building: bin/vault becomes a symlink to it (the stamp then records that
# path and is re-checked on every run). Set VAULT_FROM_SOURCE=1 to ignore the
# PATH and always build the pinned version; pass --force to rebuild even when
# the stamp matches. Never run `go mod tidy` in tools/vault: it pulls a newer
# sdk and breaks the build.
#
# First build: about 15 minutes and 4 GB of downloads on a fresh machine;
# with a warm module and build cache a few minutes; cached: about a second.
set -euo pipefail

VAULT_VERSION=v1.21.4      # github.com/hashicorp/vault (also in go.mod)
SDK_VERSION=v0.21.0        # the published sdk that Vault v1.21.4 requires
SDK_DONOR_VERSION=v0.25.1  # where RestorePolicy is taken from
PATH_VAULT_PATTERN='^Vault v1\.21\.[0-9]+'

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN="$REPO/bin"
OUT="$BIN/vault"
STAMP="$BIN/.vault.stamp"
BUILD="$HERE/build"
MODFILE="$BUILD/go.build.mod"

FORCE=0
for arg in "$@"; do
	case "$arg" in
	--force) FORCE=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "build.sh: unknown argument $arg (want --force or --help)" >&2
		exit 2
		;;
	esac
done

START=$SECONDS
log() { printf '[vault %3ds] %s\n' "$((SECONDS - START))" "$*"; }
die() {
	log "ERROR: $*" >&2
	exit 1
}

command -v go >/dev/null || die "go is not on PATH"
mkdir -p "$BIN"

# Serialise concurrent runs (e.g. parallel make targets) on the same checkout.
if command -v flock >/dev/null; then
	exec 9>"$BIN/.vault.lock"
	flock 9
fi

# The cache key: everything that determines the binary we would build.
key=$(
	{
		printf 'vault=%s sdk=%s donor=%s\n' "$VAULT_VERSION" "$SDK_VERSION" "$SDK_DONOR_VERSION"
		grep -v '^[[:space:]]*#' "$HERE/build.sh"
		cat "$HERE/main.go" "$HERE/go.mod" "$HERE/go.sum"
		cat "$HERE"/patchsdk/*.go
	} | sha256sum | cut -d' ' -f1
)

if [[ $FORCE == 0 && -x $OUT && -f $STAMP && $(cat "$STAMP") == "$key" ]]; then
	log "bin/vault is up to date ($("$OUT" version 2>/dev/null | head -n1)); nothing to do"
	exit 0
fi

# A compatible vault on PATH (that is not our own bin/vault) saves the build.
if [[ $FORCE == 0 && ${VAULT_FROM_SOURCE:-0} != 1 ]]; then
	if path_vault=$(command -v vault 2>/dev/null); then
		real=$(readlink -f "$path_vault")
		# Skip it when it is our own build (bin/ on PATH): that needs a rebuild.
		if [[ -L $OUT || $real != "$(readlink -f "$OUT" 2>/dev/null || true)" ]]; then
			version=$("$real" version 2>/dev/null | head -n1 || true)
			if [[ $version =~ $PATH_VAULT_PATTERN ]]; then
				ln -sfn "$real" "$OUT"
				printf 'path:%s\n' "$real" >"$STAMP"
				log "using $real from PATH ($version); bin/vault -> $real (VAULT_FROM_SOURCE=1 builds $VAULT_VERSION instead)"
				exit 0
			elif [[ -n $version ]]; then
				log "ignoring $path_vault on PATH: '$version' does not match $PATH_VAULT_PATTERN"
			fi
		fi
	fi
fi

log "building Vault $VAULT_VERSION into bin/vault (first time: ~4 GB of modules and ~15 minutes; later builds are cached)"
cd "$HERE"
mkdir -p "$BUILD"

# The build uses a copy of go.mod/go.sum, so -mod=mod and the replace below
# never touch the committed files.
cp go.mod "$MODFILE"
cp go.sum "${MODFILE%.mod}.sum"

sdk_dir() {
	go mod download -modfile="$MODFILE" -json "github.com/hashicorp/vault/sdk@$1" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

log "step 1/4: downloading module dependencies (go mod download; silent, may take several minutes)"
go mod download -modfile="$MODFILE"
sdk_from=$(sdk_dir "$SDK_VERSION")
sdk_donor=$(sdk_dir "$SDK_DONOR_VERSION")
[[ -d $sdk_from && -d $sdk_donor ]] || die "could not locate vault/sdk $SDK_VERSION / $SDK_DONOR_VERSION in the module cache"

log "step 2/4: patching vault/sdk $SDK_VERSION into tools/vault/build/sdk"
go run -modfile="$MODFILE" -mod=mod ./patchsdk -from "$sdk_from" -body-from "$sdk_donor" -out "$BUILD/sdk"

log "step 3/4: replacing github.com/hashicorp/vault/sdk with the patched copy (in build/go.build.mod only)"
go mod edit -replace "github.com/hashicorp/vault/sdk=$BUILD/sdk" "$MODFILE"

log "step 4/4: compiling (go build -trimpath; ~8 minutes on a cold build cache, silent)"
heartbeat() {
	# Kill the pending sleep too on exit, so no child keeps stdout open.
	local sp=
	trap 'kill "$sp" 2>/dev/null; exit 0' TERM
	while :; do
		sleep 60 &
		sp=$!
		wait "$sp"
		log "    ... still compiling"
	done
}
heartbeat &
hb=$!
trap 'kill "$hb" 2>/dev/null || true' EXIT
rm -f "$OUT.tmp"
go build -modfile="$MODFILE" -mod=mod -trimpath -ldflags "-s -w" -o "$OUT.tmp" .
kill "$hb" 2>/dev/null || true
wait "$hb" 2>/dev/null || true
trap - EXIT

got=$("$OUT.tmp" version | head -n1)
[[ $got == "Vault $VAULT_VERSION"* ]] || die "built binary reports '$got', want Vault $VAULT_VERSION"
rm -f "$OUT" # may be a symlink to a PATH vault
mv "$OUT.tmp" "$OUT"
printf '%s\n' "$key" >"$STAMP"
log "done: bin/vault ($got, $(du -h "$OUT" | cut -f1))"
