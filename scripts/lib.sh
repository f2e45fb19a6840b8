# shellcheck shell=bash
# Shared helpers for bridgehost scripts. Source it:  . "$(dirname "$0")/lib.sh"
# Defines functions only; sets no shell options and changes no directory.

# Absolute path of the repository root (the parent of scripts/).
repo_root() {
    (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
}

# log MSG...  -> "==> MSG" on stderr.
log() {
    printf '==> %s\n' "$*" >&2
}

# die MSG... -> log and exit 1.
die() {
    printf '==> ERROR: %s\n' "$*" >&2
    exit 1
}

# need_cmd NAME... -> exit 1 with a message if any command is missing.
need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "required command not found: $c (run scripts/setup.sh)"
    done
}

# Path of the project venv's python (does not check that it exists).
venv_python() {
    printf '%s\n' "$(repo_root)/.venv/bin/python"
}

# Absolute path of the CoreCLR 'dotnet' host found by setup.sh (from .venv/dotnet-path).
dotnet_host() {
    local f
    f="$(repo_root)/.venv/dotnet-path"
    [ -r "$f" ] || die "$f missing (run scripts/setup.sh)"
    local p
    p="$(cat "$f")"
    [ -x "$p" ] || die "dotnet host '$p' is not executable (run scripts/setup.sh)"
    printf '%s\n' "$p"
}

# _java_home_major N -> first JDK under /usr/lib/jvm whose bin/java reports major version N.
_java_home_major() {
    local want="$1" d v
    for d in /usr/lib/jvm/*/; do
        d="${d%/}"
        [ -L "$d" ] && continue          # skip aliases such as java-1.17.0-openjdk-amd64
        [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" ] || continue
        # 'openjdk version "17.0.x"' / 'openjdk version "25" 2025-09-16' / '"25.0.1"'
        v="$("$d/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')"
        if [ "$v" = "$want" ]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    return 1
}

# JAVA_HOME of a JDK 17 / 25 under /usr/lib/jvm; non-zero status if none.
java_home_17() { _java_home_major 17; }
java_home_25() { _java_home_major 25; }
