#!/usr/bin/env bash
# The peer benchmark in one command (README.md): make the data if missing, build
# the two guests for their targets and the runner, then run the runner pinned
# to one core. Arguments are passed to the runner (e.g. --rounds 9).
#
# Everything builds under target/peer of the repository (ignored by git), never
# by CI. JOBS sets cargo's -j (default 2).
set -euo pipefail

peer="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$peer/../.." && pwd)"
export CARGO_TARGET_DIR="$root/target/peer"
jobs="${JOBS:-2}"
data="$root/target/bench-data/100k"

# The same data set the host's benches use, made the same way; beside its place
# first, so an interrupted run never leaves half a data set behind.
if [[ ! -f "$data/interactions.jsonl" || ! -f "$data/feedback.jsonl" ]]; then
    echo "generating 100k interactions into $data" >&2
    rm -rf "$data.partial"
    (cd "$root" && env -u CARGO_TARGET_DIR cargo run --release -j "$jobs" -q -p reverie-generator -- \
        --interactions 100000 --out-dir "$data.partial")
    rm -rf "$data"
    mv "$data.partial" "$data"
fi

# rustup's auto-install may be off: make sure both guest targets are there.
if command -v rustup >/dev/null; then
    rustup target add wasm32-wasip2 wasm32-unknown-unknown >&2
fi

cd "$peer"
cargo build -j "$jobs" --profile guest --target wasm32-wasip2 -p reverie-guest
cargo build -j "$jobs" --profile guest --target wasm32-unknown-unknown -p extism-guest
cargo build -j "$jobs" --release -p peer-runner

pin=()
if command -v taskset >/dev/null; then
    pin=(taskset -c 0)
fi
exec "${pin[@]}" "$CARGO_TARGET_DIR/release/peer-runner" \
    --data "$data" \
    --reverie-guest "$CARGO_TARGET_DIR/wasm32-wasip2/guest/reverie_guest.wasm" \
    --extism-guest "$CARGO_TARGET_DIR/wasm32-unknown-unknown/guest/extism_guest.wasm" \
    "$@"
