#!/usr/bin/env bash
# Short fuzz smoke run of every fuzz target (CI). Installs cargo-fuzz if missing.
#
#   fuzz/smoke.sh            30 s per target
#   FUZZ_SECONDS=600 fuzz/smoke.sh
#
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 enables them on the stable
# toolchain (see shared TOOLCHAIN.md). Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export PATH="$HOME/.cargo/bin:$PATH"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked --quiet
fi

export RUSTC_BOOTSTRAP=1
passed=0; failed=0
for target in $(cargo fuzz list); do
    mkdir -p "corpus/$target"
    # Checked-in seeds (fuzz/seeds/<target>/) start the corpus where there are any.
    if [ -d "seeds/$target" ]; then cp -n seeds/"$target"/* "corpus/$target/"; fi
    echo "==> fuzz $target for ${SECONDS_PER_TARGET}s" >&2
    if cargo fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "==> fuzz target $target FAILED (see fuzz/artifacts/$target)" >&2
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
