#!/usr/bin/env bash
# Set everything up (first time) and run the whole test suite: lint, unit, AppTest and
# real-browser end-to-end tests (Streamlit server + Debian Chromium).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/setup_env.sh requirements-dev.txt

# System parts the tests use: Chromium (browser tests, chart export), a Hebrew font, pdftotext.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans Hebrew" || need+=(fonts-noto-core)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-impress)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "• installing ${need[*]} (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "The tests need these Debian packages: ${need[*]} (run as root, or install them)." >&2
    exit 1
  fi
fi

.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
