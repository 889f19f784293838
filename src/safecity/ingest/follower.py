"""Follow one kind of bus message from a thread of its own, for a supervisor that is no
event loop (the placement of cameras in worker processes: ``ingest.groups``,
``analytics.groups``).

The handler runs in a worker thread (it may block: it reads the registry, writes to
pipes); the durable consumer resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Generic

from safecity.bus.errors import BusError
from safecity.bus.interface import M
from safecity.core.logging import scrub_credentials

logger = logging.getLogger(__name__)


class BusFollower(Generic[M]):
    def __init__(
        self,
        model: type[M],
        *,
        durable: str,
        handler: Callable[[M], None],
        name: str,
        what: str,
    ) -> None:
        """``name`` names the thread and the bus connection; ``what`` says in errors what
        is followed ("analytics configuration")."""
        self._model = model
        self._what = what
        self._durable = durable
        self._handler = handler
        self._name = name
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._following = threading.Event()

    def start(self, bus_url: str, *, timeout: float | None = 60.0) -> None:
        """Returns once subscribed and raises ``BusError`` if it cannot; with
        ``timeout=None`` returns at once (a failure is then logged)."""
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._follow, args=(bus_url, failure), name=self._name, daemon=True
        )
        self._thread.start()
        if timeout is None:
            return
        if not self._following.wait(timeout) or failure:
            reason = scrub_credentials(str(failure[0])) if failure else "timed out"
            raise BusError(f"cannot follow {self._what}: {reason}")

    def stop(self, timeout: float = 10.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the follower's loop already ended
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _follow(self, bus_url: str, failure: list[BaseException]) -> None:
        async def serve() -> None:
            from safecity.bus.nats import NatsBus

            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            connecting = asyncio.ensure_future(NatsBus.connect(bus_url, name=self._name))
            stopping = asyncio.ensure_future(self._stop.wait())
            # A stop while the bus is still unreachable ends the follower at once; waiting
            # for the connection alone held every stop for the whole join timeout.
            await asyncio.wait((connecting, stopping), return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not connecting.done():
                connecting.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await connecting
                return
            try:
                bus = connecting.result()
            except (BusError, ValueError) as exc:
                failure.append(exc)
                self._following.set()
                return
            try:
                await bus.subscribe(self._model, durable=self._durable, handler=self._handle)
            except BusError as exc:
                failure.append(exc)
                self._following.set()
                await bus.close()
                return
            try:
                self._following.set()
                await self._stop.wait()
            finally:
                await bus.close()

        asyncio.run(serve())
        if failure:
            logger.warning(
                "%s changes are not followed: %s",
                self._what,
                scrub_credentials(str(failure[0])),
            )

    async def _handle(self, message: M) -> None:
        await asyncio.to_thread(self._handler, message)
