#!/usr/bin/env bash
# Set up tribute on a fresh Debian/Ubuntu-like machine: system packages, a virtual environment
# in .venv, the CPU build of PyTorch, and tribute with every extra. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(grep -v '^\s*#' scripts/system-packages.txt | tr '\n' ' ' | xargs || true)
if [ -n "$packages" ]; then
    missing=""
    for p in $packages; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        sudo_cmd=""
        [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
        $sudo_cmd apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing
    fi
fi

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# The CPU wheel first: every later requirement is a range it satisfies, so nothing pulls CUDA.
python -m pip install -q "torch==2.13.0"
extras=$(python - <<'PY'
import tomllib
with open("pyproject.toml", "rb") as f:
    print(",".join(tomllib.load(f)["project"].get("optional-dependencies", {})))
PY
)
python -m pip install -q -e ".[${extras}]"
echo "tribute installed in .venv (extras: ${extras}); activate with: . .venv/bin/activate"
