#!/usr/bin/env bash
# One command: set up (uv + locked dependencies) and run the tests.
set -euo pipefail
cd "$(dirname "$0")"
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
uv run --frozen ruff check .
uv run --frozen pytest -n 2 -p no:cacheprovider "$@"
