#!/usr/bin/env bash
# The main job (README "Run the demo"): set up (idempotent), build everything, then run one small
# program per runtime. Each opens the bundled modules, compresses and checksums data through the
# zlib and std modules, makes typed calls through std's WIT interface, receives events from a
# native thread, and shows a crash in an isolated module being contained and recovered from.
# It runs the development (debug) build every test shares: building the release packages first
# (scripts/package.sh: release natives, maturin, Maven with javadoc, nupkg) would add minutes to
# the first run. `scripts/test.sh package` installs and exercises those packages instead.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(repo_root)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
DIST="$ROOT/target/dist"

banner() { printf '\n======== %s ========\n' "$*"; }

banner "CLI (Rust core)"
"$DIST/bridgehost" inspect "$DIST/libbridgehost_mod_zlib.so"
text="bridgehost demo: the same bytes through every runtime. bridgehost demo."
packed_len=$(printf '%s' "$text" | "$DIST/bridgehost" call zlib compress | wc -c)
round=$(printf '%s' "$text" | "$DIST/bridgehost" call zlib compress | "$DIST/bridgehost" call zlib decompress)
[ "$round" = "$text" ] || die "CLI round trip mismatch"
echo "zlib: ${#text} bytes -> $packed_len bytes -> round trip ok"
echo "std.checksum(\"123456789\") = $(printf 123456789 | "$DIST/bridgehost" call std checksum | od -An -tx1 | tr -d ' ')  (CRC-32C, expected e3069283)"
# A typed call: the arguments are JSON, encoded through the interface std embeds (docs/TYPED.md).
stats=$("$DIST/bridgehost" call std stats --json '[[1.5, -2, 7]]')
[ "$stats" = '{"count":3,"min":-2.0,"max":7.0,"mean":2.1666666666666665}' ] || die "typed call: $stats"
echo "typed: bridgehost call std stats --json '[[1.5, -2, 7]]' -> $stats"
set +e
"$DIST/bridgehost" call --isolated faulty segfault </dev/null
rc=$?
set -e
echo "faulty.segfault under isolation -> exit $rc (15 = worker_crashed); the CLI process itself survived"

banner "Java"
bash "$ROOT/scripts/java.sh" demo
banner "Python"
bash "$ROOT/scripts/python.sh" demo
banner ".NET (CoreCLR and Mono)"
bash "$ROOT/scripts/dotnet.sh" demo
banner "done"
