"""The benchmark helpers live in ``bench/`` as top-level modules, as the scripts import them."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
