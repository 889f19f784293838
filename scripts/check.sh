#!/usr/bin/env bash
# Lint, format, types, layering, migrations and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
echo "== ruff" >&2
$bin/ruff check src tests bench training
$bin/ruff format --check src tests bench training
echo "== mypy (strict)" >&2
$bin/mypy
echo "== import-linter" >&2
$bin/lint-imports --no-cache
[ "${1:-}" = "--no-tests" ] && exit 0
echo "== pytest" >&2
$bin/pytest -p no:cacheprovider
