#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environment in .venv and provisions the metrics' weights
# (LPIPS, DISTS) and parameters (NIQE, BRISQUE).
# Idempotent: a stamp keyed on pyproject.toml skips the install when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.restorebench-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing RestoreBench and its dependencies (torch from this machine's disk)"
  "$VENV/bin/python" -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
# Official LPIPS and DISTS weights, converted once into var/weights (no download at scoring time).
"$VENV/bin/python" -m evaluator provision-lpips --quiet
"$VENV/bin/python" -m evaluator provision-dists --quiet
"$VENV/bin/python" -m evaluator provision-niqe --quiet
"$VENV/bin/python" -m evaluator provision-brisque --quiet
