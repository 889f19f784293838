"""What storing an alert costs the server: AlertRaised messages stored as the alert
consumer stores them, one per transaction (as before batches) and in batches of
``--batches`` (``AlertsService.ingest_batch`` in one transaction, each message in a
savepoint). Reported per alert: CPU time of this process (the database's own work on
PostgreSQL is in another process and not counted) and wall time.

The demo province is seeded on SQLite (or ``--database-url``); every message is a new
alert at one of 50 online cameras, as in ``bench/alert_latency.py``.

    .venv/bin/python bench/alert_store.py [--alerts 1000] [--batches 1,8,64]
        [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from tests.api.routes_command import alert_message  # noqa: E402
from tests.command.alerts_support import demo_platform  # noqa: E402

from safecity.contracts.alerts import AlertRaised  # noqa: E402
from safecity.registry.models import Camera  # noqa: E402
from safecity.web.platform import Platform  # noqa: E402


def messages(codes: list[str], count: int) -> list[AlertRaised]:
    run = uuid.uuid4().hex[:8]
    return [
        alert_message(
            codes[n % len(codes)], title=f"store {run}-{n}", correlation_key=f"s:{run}:{n}"
        )
        for n in range(count)
    ]


def store_all(platform: Platform, batch: list[AlertRaised], size: int) -> tuple[float, float]:
    """CPU and wall seconds to store ``batch`` in transactions of ``size`` messages."""
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(batch), size):
        with platform.transaction() as session:
            if size == 1:
                platform.alerts.ingest(session, batch[start])
            else:
                platform.alerts.ingest_batch(session, batch[start : start + size])
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--batches", default="1,8,64")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alert-store-") as tmp:
        platform = demo_platform(Path(tmp), args.database_url)
        try:
            with platform.sessions() as session:
                codes = list(
                    session.scalars(
                        select(Camera.code)
                        .where(Camera.status == "online")
                        .order_by(Camera.code)
                        .limit(50)
                    )
                )
            store_all(platform, messages(codes, 100), 1)  # warm caches and the pool
            for size in (int(s) for s in args.batches.split(",")):
                cpu, wall = store_all(platform, messages(codes, args.alerts), size)
                print(
                    f"batch {size:>3}: {1000 * cpu / args.alerts:.2f} ms CPU and "
                    f"{1000 * wall / args.alerts:.2f} ms wall per alert "
                    f"({args.alerts} alerts, {platform.engine.dialect.name})",
                    flush=True,
                )
        finally:
            platform.dispose()


if __name__ == "__main__":
    main()
