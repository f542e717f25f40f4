#!/usr/bin/env bash
# Shared by run.sh and test.sh: find Python 3.11+, create .venv, install pinned requirements once.
# Usage: source scripts/setup_env.sh REQUIREMENTS_FILE
set -euo pipefail
req_file="$1"

pick_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Yaad needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)." >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  py=$(pick_python)
  echo "• creating .venv with $py" >&2
  "$py" -m venv .venv
fi
# Reinstall only when the requirements changed (a stamp holds their hash).
stamp=".venv/.yaad-$(basename "$req_file").sha"
want=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "• installing $req_file into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet -r "$req_file"
  echo "$want" > "$stamp"
fi
