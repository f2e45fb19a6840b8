#!/usr/bin/env bash
# Build every native piece and stage it in target/dist/ — the flat layout that every package
# ships (jar natives/, wheel package dir, NuGet runtimes/linux-x64/native/): the bridge
# libraries, the worker executable, the CLI and the bundled modules side by side, so the core
# finds modules and worker beside the library it is linked into.
#
#   scripts/build.sh            debug build (what the tests use)
#   BH_PROFILE=release scripts/build.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(repo_root)"
PROFILE="${BH_PROFILE:-debug}"
DIST="$ROOT/target/dist"
[ "$PROFILE" = release ] && DIST="$ROOT/target/dist-release"
cd "$ROOT"

flag=()
[ "$PROFILE" = release ] && flag=(--release)
# The development build carries the JNI bench baselines (the development jar has BareEcho);
# scripts/package.sh builds the shipped bridge without them.
log "cargo build --workspace --features bridgehost-jni/bench ${flag[*]}"
cargo build --workspace --features bridgehost-jni/bench "${flag[@]}"

mkdir -p "$DIST"
log "C modules → $DIST"
make -s -C plugins OUT="$DIST"

OUTDIR="$ROOT/target/$PROFILE"
# SRC[:DEST]: the C ABI crate's cdylib is libbridgehost_c.so in target/ and libbridgehost.so
# everywhere it ships (its lib name differs from the core's to avoid cargo's filename collision).
for f in libbridgehost_c.so:libbridgehost.so libbridgehost_jni.so libbridgehost_mod_std.so bridgehost-worker bridgehost; do
    src="${f%%:*}" dst="${f##*:}"
    [ -e "$OUTDIR/$src" ] || die "expected build output missing: $OUTDIR/$src"
    # cp to a temp name then rename, so a process that has the old file mapped keeps it intact;
    # the name is this run's own, so two builds staging at once do not take each other's file
    cp "$OUTDIR/$src" "$DIST/.$dst.tmp.$$" && mv -f "$DIST/.$dst.tmp.$$" "$DIST/$dst"
done
log "staged: $(cd "$DIST" && ls | tr '\n' ' ')"
