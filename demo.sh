#!/usr/bin/env bash
# One command: set up (uv + locked dependencies), build the demo street's warehouse (first time, or
# REGENERATE=1), create one demo account per role (passwords printed once), and serve the cockpit.
set -euo pipefail
cd "$(dirname "$0")"
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
WAREHOUSE="${COCKPIT_WAREHOUSE:-warehouse_data}"
if [ ! -e "$WAREHOUSE/current.duckdb" ] || [ -n "${REGENERATE:-}" ]; then
    uv run --frozen cockpit demo --scale "${SCALE:-street}"
fi
uv run --frozen cockpit demo-users
echo "驾驶舱 (cockpit): http://localhost:${PORT:-8501}"
exec uv run --frozen streamlit run app.py --server.port "${PORT:-8501}"
