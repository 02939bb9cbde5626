#!/usr/bin/env bash
# Build both fuzz targets and run each for SECONDS (default 600), with a
# corpus seeded from the test fixtures and the demo repository. Needs the
# nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Usage: bash tests/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-600}"
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(dockerfile shell)
work="target/fuzz-corpus"
# Seed only the corpora of the targets run here, so two runs of this script
# (one per target, in parallel) never copy into the same directory.
for t in "${targets[@]}"; do
    mkdir -p "$work/$t"
    case "$t" in
    dockerfile) cp -f tests/fixtures/dockerfile/* assets/demo/Dockerfile "$work/$t/" ;;
    shell) cp -f tests/fixtures/shell/* assets/demo/.docker/docker-entrypoint.sh "$work/$t/" ;;
    *) echo "run.sh: unknown target $t (dockerfile, shell)" >&2; exit 2 ;;
    esac
done
cargo +nightly fuzz build --fuzz-dir tests/fuzz -O
for t in "${targets[@]}"; do
    echo "fuzz: $t for ${secs}s"
    cargo +nightly fuzz run --fuzz-dir tests/fuzz -O "$t" "$work/$t" -- \
        -max_total_time="$secs" -max_len=16384 -timeout=10 -print_final_stats=1
done
