"""The control plane's own alert consumer in a process that dies between storing a batch
and acknowledging it.

Run by test_alerts_batches: it runs ``start_consumers`` as the application does; the
first transaction it commits (an alert batch: nothing else commits here) prints
``COMMITTED`` and then holds that worker thread, so the handler never returns and
nothing is acknowledged, until the test kills the process with SIGKILL.
Usage: python alert_crash_consumer.py NATS_URL DATA_DIR DATABASE_URL SECRET ACK_WAIT
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.orm import Session

from safecity.bus.nats import NatsBus
from safecity.core.settings import Settings
from safecity.web.consumers import start_consumers
from safecity.web.platform import build_platform


async def main(url: str, data_dir: str, database_url: str, secret: str, ack_wait: float) -> None:
    settings = Settings(
        data_dir=Path(data_dir),
        database_url=SecretStr(database_url),
        secret_key=SecretStr(secret),
    )
    platform = build_platform(settings)
    platform.ready = True
    never = threading.Event()
    transaction = platform.transaction

    @contextmanager
    def committed_then_stuck() -> Iterator[Session]:
        with transaction() as session:
            yield session
        # Committed (the block above has exited): the handler never returns from here.
        print("COMMITTED", flush=True)
        never.wait()

    platform.transaction = committed_then_stuck  # type: ignore[method-assign]
    bus = await NatsBus.connect(url, fetch_wait_seconds=0.25)
    await start_consumers(platform, bus, alerts_ack_wait_seconds=ack_wait)
    print("SUBSCRIBED", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])))
