#!/usr/bin/env bash
# Set everything up (first time) and start the Yaad dashboard on the embedded DuckDB file
# data/yaad.duckdb, which is created and filled with the sample data on first start.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup_env.sh requirements.txt
exec .venv/bin/streamlit run app.py \
  --server.address "${YAAD_ADDRESS:-127.0.0.1}" --server.port "${YAAD_PORT:-8501}" \
  --server.headless true --browser.gatherUsageStats false "$@"
