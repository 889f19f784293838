"""What storing an alert costs the server: AlertRaised messages stored as the alert
consumer stores them: one per transaction with ``AlertsService.ingest`` (as before
batches), then in batches of each ``--batches`` size with ``ingest_batch`` (one
transaction, each message in a savepoint; a batch of 1 is what the consumer does with a
lone alert). Reported per alert: CPU time of this process (the database's own work on
PostgreSQL is in another process and not counted) and wall time.

The demo province is seeded on SQLite (or ``--database-url``); every message is a new
alert at one of 50 online cameras, as in ``bench/alert_latency.py``.

    .venv/bin/python bench/alert_store.py [--alerts 1000] [--batches 1,8,64]
        [--rounds 5] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import statistics
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


def store_all(
    platform: Platform, batch: list[AlertRaised], size: int | None
) -> tuple[float, float]:
    """CPU and wall seconds to store ``batch`` in transactions of ``size`` messages
    (None: each alone with ``ingest``)."""
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(batch), size or 1):
        with platform.transaction() as session:
            if size is None:
                platform.alerts.ingest(session, batch[start])
            else:
                platform.alerts.ingest_batch(session, batch[start : start + size])
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--batches", default="1,2,8,64")
    parser.add_argument("--rounds", type=int, default=5)
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
            store_all(platform, messages(codes, 100), None)  # warm caches and the pool
            sizes: list[int | None] = [None, *(int(s) for s in args.batches.split(","))]
            taken: dict[int | None, list[tuple[float, float]]] = {s: [] for s in sizes}
            # Rounds interleave the sizes, so that a busy spell on a shared machine
            # lands on all of them rather than on one.
            for _ in range(args.rounds):
                for size in sizes:
                    taken[size].append(store_all(platform, messages(codes, args.alerts), size))
            for size in sizes:
                cpu = statistics.median(c for c, _ in taken[size])
                wall = statistics.median(w for _, w in taken[size])
                how = "ingest, alone" if size is None else f"ingest_batch, {size:>3} a batch"
                print(
                    f"{how}: {1000 * cpu / args.alerts:.2f} ms CPU and "
                    f"{1000 * wall / args.alerts:.2f} ms wall per alert, median of "
                    f"{args.rounds} ({args.alerts} alerts each, {platform.engine.dialect.name})",
                    flush=True,
                )
            if platform.engine.dialect.name == "sqlite":
                print(wal_checkpoint(platform, codes), flush=True)
        finally:
            platform.dispose()


def wal_checkpoint(platform: Platform, codes: list[str], alerts: int = 100) -> str:
    """What SQLite's automatic WAL checkpoint costs on the alert path: the pages ``alerts``
    alerts write to the WAL, and the time to copy them back into the database file (a
    commit that crosses ``wal_autocheckpoint`` pages does this before it returns)."""
    with platform.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        limit = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store_all(platform, messages(codes, alerts), None)
        started = time.perf_counter()
        _, pages, _ = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        seconds = time.perf_counter() - started
    if pages >= limit:
        return f"WAL: {alerts} alerts wrote {pages} pages, past the automatic checkpoint"
    every = limit / pages * alerts
    return (
        f"WAL: {alerts} alerts alone wrote {pages} pages ({pages / alerts:.1f} an alert); "
        f"checkpointing them took {1000 * seconds:.1f} ms; at the automatic checkpoint's "
        f"{limit} pages that is one checkpoint every ~{every:.0f} alerts of about "
        f"{1000 * seconds * limit / pages:.0f} ms"
    )


if __name__ == "__main__":
    main()
