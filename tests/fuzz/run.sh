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
mkdir -p "$work/dockerfile" "$work/shell"
cp tests/fixtures/dockerfile/* assets/demo/Dockerfile "$work/dockerfile/"
cp tests/fixtures/shell/* assets/demo/.docker/docker-entrypoint.sh "$work/shell/"
cargo +nightly fuzz build --fuzz-dir tests/fuzz -O
for t in "${targets[@]}"; do
    echo "fuzz: $t for ${secs}s"
    cargo +nightly fuzz run --fuzz-dir tests/fuzz -O "$t" "$work/$t" -- \
        -max_total_time="$secs" -max_len=16384 -timeout=10 -print_final_stats=1
done
