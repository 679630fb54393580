#!/usr/bin/env bash
# The house habits, checked: lint, formatting and types (run by .ci/run before the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
