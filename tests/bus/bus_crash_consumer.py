"""A consumer process that takes one CameraChanged and never acknowledges it.

Run by test_bus_nats: it prints ``RECEIVED <message_id>`` from inside the
handler and then hangs there until the test kills it with SIGKILL.
Usage: python bus_crash_consumer.py NATS_URL DURABLE ACK_WAIT_SECONDS
"""

from __future__ import annotations

import asyncio
import sys

from safecity.bus import NatsBus
from safecity.contracts import CameraChanged


async def main(url: str, durable: str, ack_wait_seconds: float) -> None:
    bus = await NatsBus.connect(url, fetch_wait_seconds=0.25)
    never = asyncio.Event()

    async def handler(message: CameraChanged) -> None:
        print(f"RECEIVED {message.message_id}", flush=True)
        await never.wait()

    await bus.subscribe(
        CameraChanged, durable=durable, handler=handler, ack_wait_seconds=ack_wait_seconds
    )
    print("SUBSCRIBED", flush=True)
    await never.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
