#!/usr/bin/env bash
# make bench-article's preparation: Debian's Python with Flask, scikit-learn, requests and
# joblib (installed from apt where this user may, else one line saying what to install),
# then the article's model trained on mlbench's own synthetic data.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
PKGS=(python3-flask python3-sklearn python3-requests python3-joblib)
have() { [ -x "$PY" ] && "$PY" -c 'import flask, sklearn, requests, joblib' 2>/dev/null; }
if ! have; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${PKGS[*]} (apt)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 "${PKGS[@]}"; } >/dev/null \
      || { echo "bench-article: apt-get install ${PKGS[*]} failed" >&2; exit 1; }
  else
    echo "bench-article: needs $PY with Flask, scikit-learn, requests and joblib: sudo apt-get install ${PKGS[*]}" >&2
    exit 1
  fi
fi
build=reference/article/build
mkdir -p "$build"
if [ ! -s "$build/linear_regression_model.pkl" ] || [ "$build/data.csv" -ot services/model/src/train.ts ]; then
  node scripts/orchestrator/dist/cli.js dataset --out "$build/data.csv" >&2
  "$PY" reference/article/train.py --data "$build/data.csv" --out "$build/linear_regression_model.pkl" >&2
fi
