#!/usr/bin/env bash
# Fail when dotnet-bridge/include/bridgehost.h is stale: regenerate it with cbindgen into a temp
# file and diff against the checked-in copy.
#
#   dotnet-bridge/check-header.sh           check (exit 1 and show the diff when stale)
#   dotnet-bridge/check-header.sh --write   regenerate the checked-in header
#
# Needs cbindgen 0.29 (scripts/setup.sh installs it: cargo install cbindgen --locked).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HEADER="$HERE/include/bridgehost.h"
CBINDGEN="${CBINDGEN:-$(command -v cbindgen || echo "$HOME/.cargo/bin/cbindgen")}"
[ -x "$CBINDGEN" ] || { echo "check-header: cbindgen not found (cargo install cbindgen --locked)" >&2; exit 2; }

tmp="$(mktemp "${TMPDIR:-/tmp}/bridgehost.h.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
# --quiet: cbindgen warns about every non-exported static; only errors matter here.
(cd "$HERE" && "$CBINDGEN" --quiet --config cbindgen.toml --crate bridgehost-c --output "$tmp")

if [ "${1:-}" = "--write" ]; then
    cp "$tmp" "$HEADER"
    echo "check-header: wrote $HEADER"
    exit 0
fi
if ! diff -u "$HEADER" "$tmp"; then
    echo "check-header: $HEADER is stale; run dotnet-bridge/check-header.sh --write and commit it" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
echo "check-header: $HEADER is up to date"
echo "1 passed, 0 failed"
