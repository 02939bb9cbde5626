#!/usr/bin/env bash
# The scale comparison outside criterion: builds charon-tui and the
# synthetic-monorepo generator (examples/monorepo.rs, the benchmarks' fixed
# seed), writes the 5,000- and 10,000-file trees, and times
# `charon-tui check` against `rg -c -e apk -e alpine -e su-exec` with
# hyperfine, then prints each tool's peak RSS on the 10,000-file tree.
# Needs hyperfine, ripgrep and GNU time (apt-get install hyperfine ripgrep time).
# Usage: bash benches/compare.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
for tool in hyperfine rg /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool not found" >&2; exit 2; }
done
cargo build --release --quiet --bin charon-tui --example monorepo
bin="$PWD/target/release/charon-tui"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for n in 5000 10000; do
    target/release/examples/monorepo "$work/mono-$n" "$n"
done
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
for n in 5000 10000; do
    # check exits 1 when it finds something: that is not a failure here.
    hyperfine --warmup 2 --runs "$runs" -N -i \
        -n "charon-tui check, $n files" "$bin --repo $work/mono-$n check --format json" \
        -n "rg -c, $n files" "rg -c -e apk -e alpine -e su-exec $work/mono-$n"
done
for cmd in "$bin --repo $work/mono-10000 check --format json" "rg -c -e apk -e alpine -e su-exec $work/mono-10000"; do
    /usr/bin/time -f "peak RSS %M KiB: ${cmd%% *} ${cmd#* }" $cmd >/dev/null 2>"$work/rss" || true
    tail -n 1 "$work/rss" | sed "s|$work/||g; s|$bin|charon-tui|"
done
