"""How long a full garbage collection holds the server process, before and after the
start-up heap is frozen (``gc.freeze()``, as the application's lifespan now does).

Builds what ``safecity up`` holds after start-up (the demo province's platform on SQLite
and the application with its routes, templates and models) and times ``gc.collect()``
(all generations: what the collector does when its oldest generation is due), CPU time
of this thread, median of ``--runs``; then freezes and times it again.

    .venv/bin/python bench/gc_pause.py [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.command.alerts_support import demo_platform  # noqa: E402

from safecity.web.app import create_app  # noqa: E402


def full_collections(runs: int) -> tuple[float, float]:
    """Median CPU and wall milliseconds of a full collection."""
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(runs):
        started_cpu, started = time.thread_time(), time.perf_counter()
        gc.collect()
        cpu.append(1000 * (time.thread_time() - started_cpu))
        wall.append(1000 * (time.perf_counter() - started))
    return statistics.median(cpu), statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gc-pause-") as tmp:
        platform = demo_platform(Path(tmp))
        app = create_app(platform)
        try:
            tracked = len(gc.get_objects())
            cpu, wall = full_collections(args.runs)
            print(
                f"before freeze: {tracked:,} tracked objects, full collection {cpu:.0f} ms CPU "
                f"({wall:.0f} ms wall), median of {args.runs}"
            )
            gc.freeze()
            cpu, wall = full_collections(args.runs)
            print(
                f"after freeze: {gc.get_freeze_count():,} frozen, "
                f"{len(gc.get_objects()):,} tracked, full collection {cpu:.1f} ms CPU "
                f"({wall:.1f} ms wall)"
            )
            gc.unfreeze()
        finally:
            del app
            platform.dispose()


if __name__ == "__main__":
    main()
