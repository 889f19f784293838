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
# One test process per core (at most 4): most of the suite waits on servers, browsers and
# child processes, so two processes on this 2-core machine take about 13 minutes where one
# took 19-20. Every test starts its own throwaway servers on free ports, so the processes
# share nothing. SAFECITY_TEST_PROCESSES=0 runs the suite in this process alone.
$bin/pytest -p no:cacheprovider -n "${SAFECITY_TEST_PROCESSES:-auto}" --maxprocesses 4 \
    --dist worksteal --durations 15
