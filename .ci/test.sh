#!/usr/bin/env bash
# The whole check, as CI runs it (README: "Quick start", second command). Run from a clone with the
# dev extras installed. Each step fails the run; the notebooks and README must be committed clean.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

step() { printf '\n=== %s ===\n' "$*"; }

step "nbdev_clean leaves no diff"
nbdev_clean
git diff --exit-code --stat -- nbs || { echo "notebooks were not clean: run nbdev_clean and commit" >&2; exit 1; }

step "nbdev_export leaves no diff"
nbdev_export
if ! git diff --exit-code --stat -- gaugan_nb || [ -n "$(git status --porcelain -- gaugan_nb)" ]; then
  git status --short -- gaugan_nb
  echo "gaugan_nb/ is out of sync with the notebooks: run nbdev_export and commit" >&2; exit 1
fi

step "README.md in sync with nbs/index.ipynb"
python .ci/make_readme.py --check

step "nbdev_test"
nbdev_test --n_workers 2 --timing

step "pytest tests/"
python -m pytest tests/ -ra --timeout 900 --durations=15
