#!/usr/bin/env bash
# Release packages from one command (README "Packages"): a release build, natives stripped with
# their debug symbols kept separately (objcopy --only-keep-debug + --add-gnu-debuglink), then
#
#   bridgehost-V-cp39-abi3-linux_x86_64.whl    the Python package (abi3; retagged with the platform
#                                              tag `auditwheel show` reports, then re-checked:
#                                              linux_x86_64, as the sqlite module links the system
#                                              libsqlite3.so.0, which no manylinux policy lists)
#   maven/  bridgehost-V.jar, -sources.jar, -javadoc.jar, bridgehost-V.pom, and repo/, a
#           file:// Maven repository they are installed into (io.bridgehost:bridgehost:V)
#   BridgeHost.V.nupkg                         .NET: optimised BridgeHost.dll + linux-x64 natives
#   bridgehost-V-linux-x86_64.tar.gz           C/CLI: bin/, lib/ (library, worker, modules),
#                                              include/ (both headers), lib/pkgconfig/*.pc,
#                                              share/bridgehost/sdk-rust/ (the Rust module SDK
#                                              crates, path dependencies between them),
#                                              share/doc/bridgehost/ (README.md, docs/*.md)
#   bridgehost-V-debug-symbols.tar.gz          the *.debug files the natives' debuglinks name
#
# all in target/packages/ (override with BH_PACKAGE_OUT); the wheel's extension is built unstripped
# (MATURIN_STRIP=false) and split the same way. It prints each artifact's size and
# fails if any shipped ELF file still carries debug info (`file` says "with debug_info").
#
# It runs scripts/setup.sh first (idempotent: seconds when everything is there), so it works on a
# fresh clone; BH_PACKAGE_SKIP_SETUP=1 skips that for a caller that just ran it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(repo_root)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
if [ -z "${BH_PACKAGE_SKIP_SETUP:-}" ]; then
    bash "$ROOT/scripts/setup.sh" || die "scripts/setup.sh failed"
fi
need_cmd cargo make objcopy file mvn mcs tar unzip python3
# Checked before the release build (minutes), not after it: the wheel needs the project venv.
[ -x "$ROOT/.venv/bin/python" ] || die "$ROOT/.venv missing: run scripts/setup.sh"

VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)"
OUT="${BH_PACKAGE_OUT:-$ROOT/target/packages}"
REL="$ROOT/target/release"
BUILT="$ROOT/target/dist-release"   # unstripped release natives (bench/run.sh uses them too)
STAGE="$OUT/natives"                # the stripped natives every package ships
DEBUG="$OUT/debug"                  # their separate debug symbols
ARCHIVE_NAME="bridgehost-$VERSION-linux-x86_64"

# ------------------------------------------------------------------ build
release_build() {
    log "cargo build --release (C ABI, JNI bridge, std module, worker, CLI)"
    cargo build --release -p bridgehost-c -p bridgehost-jni -p bridgehost-mod-std \
        -p bridgehost-worker -p bridgehost-cli
    mkdir -p "$BUILT"
    log "C modules (-O2 -g) -> $BUILT"
    make -s -C plugins OUT="$BUILT" CFLAGS="-O2 -g"
    local f
    local src dst
    # The C ABI cdylib is libbridgehost_c.so in target/ and ships as libbridgehost.so.
    for f in libbridgehost_c.so:libbridgehost.so libbridgehost_jni.so libbridgehost_mod_std.so bridgehost-worker bridgehost; do
        src="${f%%:*}" dst="${f##*:}"
        [ -e "$REL/$src" ] || die "expected build output missing: $REL/$src"
        cp "$REL/$src" "$BUILT/.$dst.tmp" && mv -f "$BUILT/.$dst.tmp" "$BUILT/$dst"
    done
}

# strip_native SRC: DEBUG/NAME.debug keeps the symbols; STAGE/NAME is stripped and names it.
strip_native() {
    local src="$1" name
    name="$(basename "$src")"
    objcopy --only-keep-debug "$src" "$DEBUG/$name.debug"
    objcopy --strip-debug --strip-unneeded "$src" "$STAGE/.$name.tmp"
    # The debuglink holds the file's basename and CRC; gdb finds it beside the library, in
    # .debug/ there, or under /usr/lib/debug (the debug-symbols archive unpacks there).
    (cd "$DEBUG" && objcopy --add-gnu-debuglink="$name.debug" "$STAGE/.$name.tmp")
    mv -f "$STAGE/.$name.tmp" "$STAGE/$name"
}

stage_natives() {
    rm -rf "$STAGE" "$DEBUG"
    mkdir -p "$STAGE" "$DEBUG"
    local f
    # The shipped set: never the test-only modules (faulty, serial, single, stateful, broken/).
    for f in libbridgehost.so libbridgehost_jni.so libbridgehost_mod_std.so libbridgehost_mod_zlib.so \
             libbridgehost_mod_sqlite.so bridgehost-worker bridgehost; do
        strip_native "$BUILT/$f"
    done
    log "stripped natives -> $STAGE (debug symbols -> $DEBUG)"
}

# check_no_debug DIR LABEL: every ELF file under DIR is free of debug info.
check_no_debug() {
    local dir="$1" label="$2" f desc n=0 bad=0
    while IFS= read -r -d '' f; do
        desc="$(file -b "$f")"
        case "$desc" in ELF*) ;; *) continue ;; esac
        n=$((n + 1))
        if [[ "$desc" == *"with debug_info"* ]]; then
            log "$label: ${f#"$dir"/} carries debug info: $desc"
            bad=1
        fi
    done < <(find "$dir" -type f -print0)
    [ "$n" -gt 0 ] || die "$label: no ELF file found under $dir"
    [ "$bad" -eq 0 ] || die "$label: shipped natives with debug info"
    log "$label: $n ELF file(s), none with debug_info"
}

# ------------------------------------------------------------------ wheel
wheel() {
    local py venv="$ROOT/.venv"
    [ -x "$venv/bin/python" ] || die "$venv missing: run scripts/setup.sh"
    py="$venv/bin/python"
    rm -f "$OUT"/bridgehost-*.whl
    log "wheel (maturin release build of the extension; natives from $STAGE)"
    # MATURIN_STRIP=false: the extension comes out with its debug info, split off below like
    # every other native (pyproject's strip = true would drop it for good).
    MATURIN_STRIP=false BRIDGEHOST_NATIVE_DIR="$STAGE" "$py" -m pip wheel -q --disable-pip-version-check \
        --no-deps -w "$OUT" "$ROOT/python"
    local whl
    whl="$(ls "$OUT"/bridgehost-"$VERSION"-*.whl)"
    "$py" -m wheel version >/dev/null 2>&1 || "$py" -m pip install -q --disable-pip-version-check wheel
    local u="$OUT/.whl-unpack" ext
    rm -rf "$u" && "$py" -m wheel unpack -d "$u" "$whl" >/dev/null
    ext="$(ls "$u"/bridgehost-"$VERSION"/bridgehost/_native*.so)"
    (cd "$DEBUG" && objcopy --only-keep-debug "$ext" "$(basename "$ext").debug" &&
        objcopy --strip-debug --strip-unneeded "$ext" &&
        objcopy --add-gnu-debuglink="$(basename "$ext").debug" "$ext")
    rm -f "$whl"
    "$py" -m wheel pack -d "$OUT" "$u/bridgehost-$VERSION" >/dev/null   # rewrites RECORD
    rm -rf "$u"
    whl="$(ls "$OUT"/bridgehost-"$VERSION"-*.whl)"
    case "$whl" in *-abi3-*) ;; *) die "wheel is not abi3: $whl" ;; esac
    "$py" -m auditwheel --version >/dev/null 2>&1 ||
        "$py" -m pip install -q --disable-pip-version-check auditwheel
    # auditwheel names the most compatible platform tag the wheel's external references allow
    # (glibc symbol versions, system libraries such as libz). maturin tags the wheel
    # linux_x86_64; retag it with that manylinux tag, then check that auditwheel agrees.
    local show tag want
    show="$("$py" -m auditwheel show "$whl" 2>&1)" || { echo "$show"; die "auditwheel show failed"; }
    want="$(printf '%s' "$show" | tr -s ' \n' ' ' | sed -n 's/.*consistent with the following platform tag: "\([^"]*\)".*/\1/p')"
    [ -n "$want" ] || { echo "$show"; die "auditwheel show named no platform tag"; }
    tag="${whl##*-}"; tag="${tag%.whl}"
    if [ "$tag" != "$want" ]; then
        "$py" -m wheel version >/dev/null 2>&1 || "$py" -m pip install -q --disable-pip-version-check wheel
        log "wheel: retag $tag -> $want (auditwheel show)"
        "$py" -m wheel tags --remove --platform-tag "$want" "$whl" >/dev/null
        whl="$(ls "$OUT"/bridgehost-"$VERSION"-*"$want".whl)"
        show="$("$py" -m auditwheel show "$whl" 2>&1)" || { echo "$show"; die "auditwheel show failed"; }
    fi
    printf '%s' "$show" | tr -s ' \n' ' ' | grep "consistent with the following platform tag: \"$want\"" >/dev/null ||
        { echo "$show"; die "auditwheel: $(basename "$whl") is not consistent with its tag $want"; }
    log "wheel: $(basename "$whl"), auditwheel: consistent with $want"
    local x="$OUT/.whl-check"
    rm -rf "$x" && mkdir -p "$x" && (cd "$x" && unzip -q "$whl")
    check_no_debug "$x" wheel
    [ -f "$x/bridgehost/__main__.py" ] || die "wheel lacks bridgehost/__main__.py"
    rm -rf "$x"
}

# ------------------------------------------------------------------ jar
jar() {
    local build="$OUT/java-build" m2="$OUT/maven" repo="$OUT/maven/repo" home
    home="$(java_home_17)" || die "no JDK 17 under /usr/lib/jvm"
    rm -rf "$build" "$m2"
    mkdir -p "$build" "$m2"
    # A copy of java/, so the release build never mixes with the development jar in java/target.
    cp -r "$ROOT/java/pom.xml" "$ROOT/java/src" "$build/"
    log "mvn -Prelease package (jar, -sources, -javadoc; natives from $STAGE)"
    (cd "$build" && JAVA_HOME="$home" mvn -B -q -Prelease -DskipTests -Dbridgehost.dist="$STAGE" package)
    local t="$build/target" a="bridgehost-$VERSION"
    cp "$t/$a.jar" "$t/$a-sources.jar" "$t/$a-javadoc.jar" "$m2/"
    cp "$build/pom.xml" "$m2/$a.pom"
    # The bridge is built without the jni-bridge `bench` feature, so its JNI_OnLoad needs no
    # bench class; the release profile leaves the demo and the bench classes out.
    if unzip -l "$m2/$a.jar" | grep -E 'io/bridgehost/(demo|bench)/'; then
        die "the production jar carries demo or bench classes"
    fi
    if unzip -l "$m2/$a-sources.jar" | grep -E 'io/bridgehost/(demo|bench)/'; then
        die "the sources jar carries demo or bench sources"
    fi
    unzip -p "$m2/$a.jar" META-INF/MANIFEST.MF | grep '^Main-Class' >/dev/null && die "the production jar names a Main-Class"
    local x="$OUT/.jar-check"
    rm -rf "$x" && mkdir -p "$x" && (cd "$x" && unzip -q "$m2/$a.jar")
    check_no_debug "$x" jar
    rm -rf "$x"
    log "install io.bridgehost:bridgehost:$VERSION into file://$repo"
    (cd "$build" && JAVA_HOME="$home" mvn -B -q install:install-file -Dfile="$m2/$a.jar" \
        -DpomFile="$m2/$a.pom" -Dsources="$m2/$a-sources.jar" -Djavadoc="$m2/$a-javadoc.jar" \
        -DlocalRepositoryPath="$repo")
    [ -f "$repo/io/bridgehost/bridgehost/$VERSION/$a.jar" ] || die "install-file left no jar in $repo"
}

# ------------------------------------------------------------------ nupkg
nupkg() {
    log ".NET package (optimised BridgeHost.dll, natives from $STAGE)"
    local nupkg
    nupkg="$(BH_DIST="$STAGE" bash "$ROOT/scripts/dotnet.sh" pack)"
    cp "$nupkg" "$OUT/"
    local x="$OUT/.nupkg-check"
    rm -rf "$x" && mkdir -p "$x" && (cd "$x" && unzip -q "$nupkg")
    check_no_debug "$x" nupkg
    rm -rf "$x"
}

# ------------------------------------------------------------------ C/CLI archive
# sdk_crates DIR: the Rust module SDK as `cargo package` makes it (the package suite verifies the
# same crates), unpacked to DIR/<crate>/, each path dependency on another SDK crate pointed at its
# sibling so `bridgehost new --lang rust` projects build from the archive with no registry.
SDK_CRATES=(bridgehost-module-abi bridgehost-interface bridgehost-module-sdk)
sdk_crates() {
    local dir="$1" c
    log "cargo package ${SDK_CRATES[*]} -> ${dir#"$OUT"/}"
    cargo package -q --offline --allow-dirty --no-verify "${SDK_CRATES[@]/#/-p}"
    mkdir -p "$dir"
    for c in "${SDK_CRATES[@]}"; do
        tar -C "$dir" -xzf "$ROOT/target/package/$c-$VERSION.crate"
        mv "$dir/$c-$VERSION" "$dir/$c"
        rm -f "$dir/$c/Cargo.toml.orig" "$dir/$c/.cargo_vcs_info.json"
    done
    for c in "${SDK_CRATES[@]}"; do
        local dep
        for dep in "${SDK_CRATES[@]}"; do
            if grep -q "^\[dependencies\.$dep\]\$" "$dir/$c/Cargo.toml"; then
                sed -i "/^\[dependencies\.$dep\]\$/a path = \"../$dep\"" "$dir/$c/Cargo.toml"
            fi
        done
    done
    grep -q '^path = "../bridgehost-module-abi"$' "$dir/bridgehost-module-sdk/Cargo.toml" ||
        die "sdk_crates: bridgehost-module-sdk's dependency on the ABI crate was not pointed at its sibling"
}

c_archive() {
    local top="$OUT/$ARCHIVE_NAME"
    rm -rf "$top"
    mkdir -p "$top/bin" "$top/lib/pkgconfig" "$top/include"
    # The core finds bundled modules and the worker beside the library (or executable) it is
    # linked into, so lib/ holds all of them and bin/bridgehost links to the CLI there.
    local f
    for f in libbridgehost.so libbridgehost_mod_std.so libbridgehost_mod_zlib.so libbridgehost_mod_sqlite.so \
             bridgehost-worker bridgehost; do
        cp -p "$STAGE/$f" "$top/lib/"
    done
    ln -s ../lib/bridgehost "$top/bin/bridgehost"
    ln -s ../lib/bridgehost-worker "$top/bin/bridgehost-worker"
    cp "$ROOT/dotnet-bridge/include/bridgehost.h" "$ROOT/plugins/include/bridgehost_module.h" "$top/include/"
    # Relocatable: the prefix is found from the .pc file's own place.
    cat >"$top/lib/pkgconfig/bridgehost.pc" <<EOF
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: bridgehost
Description: Host for native modules, in-process or in sandboxed worker processes (C ABI)
Version: $VERSION
Cflags: -I\${includedir}
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -lbridgehost
EOF
    cat >"$top/lib/pkgconfig/bridgehost-module.pc" <<EOF
prefix=\${pcfiledir}/../..
includedir=\${prefix}/include

Name: bridgehost-module
Description: Header for writing bridgehost modules (bridgehost_module.h; guide: share/doc/bridgehost/docs/MODULES.md)
Version: $VERSION
Cflags: -I\${includedir}
EOF
    # The docs the README, the headers, the .pc files and `bridgehost new`'s projects point to:
    # share/doc/bridgehost/README.md with its docs/ beside it, so the README's links resolve.
    local doc="$top/share/doc/bridgehost"
    mkdir -p "$doc/docs"
    cp "$ROOT/README.md" "$doc/"
    # Every document: the shipped ones name the others (MODULES.md names SQLITE.md, TYPED.md
    # JAVA.md and DOTNET.md, the README all of them).
    cp "$ROOT"/docs/*.md "$doc/docs/"
    { printf '> This is the bridgehost project README. In this archive its documents are under
'
      printf '> share/doc/bridgehost/ (docs/MODULES.md: share/doc/bridgehost/docs/MODULES.md, and so
'
      printf '> on for every docs/ file); paths outside docs/ name the source repository.

'
      cat "$ROOT/README.md"; } >"$top/README.md"
    sdk_crates "$top/share/bridgehost/sdk-rust"
    check_no_debug "$top" "C archive"
    tar -C "$OUT" -czf "$OUT/$ARCHIVE_NAME.tar.gz" "$ARCHIVE_NAME"
    rm -rf "$top"
    tar -C "$DEBUG" -czf "$OUT/bridgehost-$VERSION-debug-symbols.tar.gz" .
}

main() {
    mkdir -p "$OUT"
    release_build
    stage_natives
    check_no_debug "$STAGE" natives
    wheel
    jar
    nupkg
    c_archive
    log "artifacts in $OUT:"
    local a
    for a in "$OUT"/bridgehost-"$VERSION"-*.whl "$OUT/maven/bridgehost-$VERSION.jar" \
             "$OUT/maven/bridgehost-$VERSION-sources.jar" "$OUT/maven/bridgehost-$VERSION-javadoc.jar" \
             "$OUT/maven/bridgehost-$VERSION.pom" "$OUT/BridgeHost.$VERSION.nupkg" \
             "$OUT/$ARCHIVE_NAME.tar.gz" "$OUT/bridgehost-$VERSION-debug-symbols.tar.gz"; do
        [ -f "$a" ] || die "missing artifact $a"
        printf '%10s bytes  %s\n' "$(stat -c %s "$a")" "${a#"$ROOT"/}"
    done
}

main "$@"
