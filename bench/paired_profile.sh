#!/usr/bin/env bash
# Paired before/after runs of bench/analytics_profile.py: the code of another checkout
# (its src/ on PYTHONPATH) and this one's, alternating, ROUNDS times each; one JSON line a run.
#   nice bash bench/paired_profile.sh /tmp/base-prof 4 --plates
set -euo pipefail
cd "$(dirname "$0")/.."
other=${1:?usage: paired_profile.sh OTHER_CHECKOUT [ROUNDS] [analytics_profile.py options]}
rounds=${2:-3}
shift 2 || shift $#
export OMP_NUM_THREADS=1
for round in $(seq "$rounds"); do
    for side in before after; do
        if [ "$side" = before ]; then path="$other/src"; else path="$PWD/src"; fi
        printf '%s %s ' "$side" "$round"
        PYTHONPATH="$path" .venv/bin/python bench/analytics_profile.py "$@"
    done
done
