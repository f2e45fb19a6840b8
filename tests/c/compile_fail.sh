#!/usr/bin/env bash
# The C handle types are distinct to a C compiler (issue 17 item 4): for every ordered pair of
# handle types, a call that passes one where the other is expected must not compile, and the
# same call with the right type must. The control compiles prove the failures come from the
# type mismatch and not from a broken snippet or header.
#
#   tests/c/compile_fail.sh        (run by `scripts/test.sh header`)
#
# Prints "compile-fail: N passed, M failed" and exits non-zero on any failure.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CC="${CC:-cc}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/bh-compile-fail.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# One function per handle type that takes that handle by value.
declare -A TAKES=(
    [bh_host]='bh_host_close(h)'
    [bh_module]='bh_module_close(h)'
    [bh_method]='bh_method_free(h)'
    [bh_buffer]='bh_buffer_free(h)'
    [bh_subscription]='bh_unsubscribe(h)'
    [bh_task]='bh_task_cancel(h, &c)'
    [bh_shared_buffer]='bh_shared_buffer_free(h)'
)
TYPES=(bh_host bh_module bh_method bh_buffer bh_subscription bh_task bh_shared_buffer)

passed=0 failed=0
try() { # try NAME TYPE CALL -> compiles?
    cat >"$WORK/$1.c" <<C
#include "bridgehost.h"
int f(void);
int f(void) {
    $2 h = {0};
    int32_t c = 0;
    (void)c;
    return (int)$3;
}
C
    "$CC" -std=c11 -Wall -Wextra -Werror -I "$ROOT/dotnet-bridge/include" -c "$WORK/$1.c" \
        -o "$WORK/$1.o" 2>"$WORK/$1.err"
}
for want in "${TYPES[@]}"; do
    call="${TAKES[$want]}"
    if try "ok_$want" "$want" "$call"; then
        passed=$((passed + 1))
    else
        echo "compile-fail: control $want -> ${call%%(*} does not compile:" >&2
        cat "$WORK/ok_$want.err" >&2
        failed=$((failed + 1))
    fi
    for have in "${TYPES[@]}"; do
        [ "$have" != "$want" ] || continue
        if try "bad_${have}_$want" "$have" "$call"; then
            echo "compile-fail: a $have passed to ${call%%(*} (takes $want) compiled" >&2
            failed=$((failed + 1))
        elif grep -q "incompatible type" "$WORK/bad_${have}_$want.err"; then
            passed=$((passed + 1))
        else
            echo "compile-fail: $have -> ${call%%(*} failed for another reason:" >&2
            cat "$WORK/bad_${have}_$want.err" >&2
            failed=$((failed + 1))
        fi
    done
done
echo "compile-fail: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
