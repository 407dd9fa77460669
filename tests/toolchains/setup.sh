#!/usr/bin/env bash
# Installs the toolchains that build Python and JavaScript rules, from the package registries:
#   componentize-py   PyPI, into a venv               ($REVERIE_TOOLCHAINS/python)
#   componentize-js   npm, with its lockfile (js/)     ($REVERIE_TOOLCHAINS/js)
#
# Usage: eval "$(tests/toolchains/setup.sh)"
# Env:   REVERIE_TOOLCHAINS  where they go (default: ~/.cache/reverie/toolchains, outside the
#                            clone so that every checkout and CI run reuses them)
#        PYTHON              python >= 3.10 to make the venv (default: python3)
# Needs: python3 with venv, node >= 18 and npm.
# Idempotent: when the pinned versions are there, it installs nothing (well under a second).
# Progress goes to stderr; stdout is only the `export` lines that point `reverie rule build`
# (and the end-to-end tests) at the tools: REVERIE_COMPONENTIZE_PY, REVERIE_COMPONENTIZE_JS.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${REVERIE_TOOLCHAINS:-${XDG_CACHE_HOME:-$HOME/.cache}/reverie/toolchains}"
python="${PYTHON:-python3}"

# The versions the templates, the docs and `reverie rule build`'s messages name
# (host/src/authoring/toolchain.rs checks that they agree with this file and js/package.json).
componentize_py=0.25.1

say() { echo "toolchains: $*" >&2; }
fail() {
    echo "toolchains: error: $*" >&2
    exit 1
}

mkdir -p "$root" || fail "cannot make $root; set REVERIE_TOOLCHAINS to a folder you can write"

# --- componentize-py, from PyPI, in a venv of its own ---
venv="$root/python"
py_tool="$venv/bin/componentize-py"
if [[ -x "$py_tool" ]] && [[ "$("$py_tool" --version 2>/dev/null)" == "componentize-py $componentize_py" ]]; then
    say "componentize-py $componentize_py is there ($py_tool)"
else
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null \
        || fail "$python is missing or older than 3.10; set PYTHON"
    if [[ ! -x "$venv/bin/python" ]]; then
        say "creating venv $venv"
        "$python" -m venv "$venv" || fail "could not create the venv at $venv (python3-venv missing?)"
    fi
    say "pip install componentize-py==$componentize_py"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
        "componentize-py==$componentize_py" >&2 \
        || fail "pip could not install componentize-py==$componentize_py (is PyPI reachable?)"
    [[ "$("$py_tool" --version 2>/dev/null)" == "componentize-py $componentize_py" ]] \
        || fail "pip finished but $py_tool is not componentize-py $componentize_py"
fi

# --- componentize-js, from npm, exactly as js/package-lock.json has it ---
js="$root/js"
js_tool="$js/node_modules/.bin/componentize-js"
stamp="$js/installed.sha256"
command -v node >/dev/null 2>&1 || fail "node is missing: install Node.js 18 or later (with npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 18 ? 1 : 0)' \
    || fail "node $(node --version) is older than 18, which componentize-js needs"
# The lockfile pins every package componentize-js pulls in (jco, wizer, weval, ...): the
# install is redone whenever it changes.
want="$(cat "$here/js/package.json" "$here/js/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ -x "$js_tool" ]] && [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$want" ]]; then
    say "componentize-js is there ($js_tool)"
else
    command -v npm >/dev/null 2>&1 || fail "npm is missing: install it with Node.js"
    mkdir -p "$js"
    cp "$here/js/package.json" "$here/js/package-lock.json" "$js/"
    say "npm ci in $js (componentize-js and its lockfile, ~20 s)"
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >&2) \
        || fail "npm ci failed in $js (is the npm registry reachable?)"
    [[ -x "$js_tool" ]] || fail "npm finished but $js_tool is missing"
    echo "$want" >"$stamp"
fi

# Both must run here, not only be installed: a wheel or a native package for the wrong
# platform would otherwise fail later, inside a build.
"$py_tool" --version >/dev/null || fail "$py_tool does not run"
"$js_tool" --version >/dev/null || fail "$js_tool does not run"
say "ok: componentize-py $componentize_py, componentize-js $("$js_tool" --version)"

printf 'export REVERIE_COMPONENTIZE_PY=%q\n' "$py_tool"
printf 'export REVERIE_COMPONENTIZE_JS=%q\n' "$js_tool"
