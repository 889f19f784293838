"""The console hub: live updates for connected operator consoles, each seeing only its
districts and only the kinds its permissions allow.

Publishing (alerts here; incidents and units from the dispatch module):

    hub = request.app.state.hub          # or the ``HubDep`` dependency
    hub.broadcast(district_id, "incident", payload)   # after the transaction commits

``kind`` names what changed; its first dotted token picks the permission a console
needs to receive it (``alert`` -> ``alerts.view``, ``incident`` -> ``incidents.view``,
``unit`` -> ``units.view``); any other kind must name its ``permission``. ``payload``
must be JSON-serialisable (a pydantic model's ``model_dump(mode="json")``). Consoles
receive ``{"kind", "district_id", "payload", "sent_at"}`` as one text frame, or several
of them as ``{"kind": "batch", "frames": [...]}``: each message is encoded once, whatever
the number of consoles, and what falls due for a console within one ``COALESCE_SECONDS``
tick of its last send goes out in one frame (see :meth:`Listener.collect`).
``broadcast`` may be called from the event loop or from any thread (sync routes run
in a thread pool); it never blocks. A console too slow to keep up loses its oldest
messages, counted in ``dropped``, and is told so with a ``resync`` message so it
reloads the queue instead of showing a stale one.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from safecity.core.clock import utcnow

KIND_PERMISSIONS = {
    "alert": "alerts.view",
    "incident": "incidents.view",
    "unit": "units.view",
}
QUEUE_LIMIT = 2000
BATCH_LIMIT = 200  # messages in one frame at most
# Sending costs about the same per frame whatever it holds (the WebSocket stack, the
# compression call, the system call), so at 100 alerts/s one frame per alert to 200
# consoles is 20,000 sends a second from one process; one frame per tick caps it at
# 20 a second per console, and a lone alert after a quiet spell still goes at once.
COALESCE_SECONDS = 0.05


@dataclass(eq=False)
class Listener:
    """One connected console: what it may see, and what is waiting to be sent to it."""

    district_ids: frozenset[int] | None  # None: every district
    camera_ids: frozenset[int]
    permissions: frozenset[str]
    pending: deque[str] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0
    stale: bool = False
    last_sent: float = float("-inf")  # time.monotonic() of the last collect

    def sees(self, district_id: int, camera_id: int | None, permission: str) -> bool:
        if permission not in self.permissions:
            return False
        if self.district_ids is None or district_id in self.district_ids:
            return True
        return camera_id is not None and camera_id in self.camera_ids

    def offer(self, frame: str) -> None:
        """Queue ``frame`` (on the loop); when full, drop the oldest and mark it stale."""
        if len(self.pending) >= QUEUE_LIMIT:
            self.pending.popleft()
            self.dropped += 1
            self.stale = True
        self.pending.append(frame)
        self.ready.set()

    async def collect(self, *, tick: float | None = None, limit: int | None = None) -> list[str]:
        """Wait for queued messages and take them (at most ``limit``), no sooner than
        ``tick`` after the previous collect: at a high rate messages gather into one
        frame per tick; the first after a quiet spell is taken at once."""
        tick = COALESCE_SECONDS if tick is None else tick
        limit = BATCH_LIMIT if limit is None else limit
        while not self.pending:
            self.ready.clear()
            await self.ready.wait()
        wait = self.last_sent + tick - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        taken = [self.pending.popleft() for _ in range(min(limit, len(self.pending)))]
        self.last_sent = time.monotonic()
        return taken

    def take_stale(self) -> bool:
        """True once after messages were dropped: the console must reload its queue."""
        stale, self.stale = self.stale, False
        return stale


class ConsoleHub:
    def __init__(self) -> None:
        self._listeners: set[Listener] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the consoles' sockets run on (set in the application's lifespan)."""
        self._loop = loop

    def connect(
        self,
        *,
        district_ids: frozenset[int] | None,
        camera_ids: frozenset[int],
        permissions: frozenset[str],
    ) -> Listener:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        listener = Listener(district_ids, camera_ids, permissions)
        with self._lock:
            self._listeners.add(listener)
        return listener

    def disconnect(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    @property
    def connected(self) -> int:
        with self._lock:
            return len(self._listeners)

    def broadcast(
        self,
        district_id: int,
        kind: str,
        payload: Mapping[str, Any],
        *,
        camera_id: int | None = None,
        permission: str | None = None,
    ) -> None:
        """Send ``payload`` to every console that may see it (see the module docstring)."""
        needed = permission or KIND_PERMISSIONS.get(kind.split(".", 1)[0])
        if needed is None:
            raise ValueError(f"kind {kind!r} has no default permission: pass permission=")
        with self._lock:
            if not self._listeners:
                return
        frame = json.dumps(
            {
                "kind": kind,
                "district_id": district_id,
                "payload": payload,
                "sent_at": utcnow().isoformat(),
            },
            default=str,
        )
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(frame, district_id, camera_id, needed)
        else:
            loop.call_soon_threadsafe(self._deliver, frame, district_id, camera_id, needed)

    def _deliver(self, frame: str, district_id: int, camera_id: int | None, needed: str) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            if listener.sees(district_id, camera_id, needed):
                listener.offer(frame)
                self.sent += 1


def frame_of(messages: list[str]) -> str:
    """One text frame for encoded messages: the message itself, or a ``batch``."""
    if len(messages) == 1:
        return messages[0]
    return '{"kind": "batch", "frames": [' + ",".join(messages) + "]}"


def get_hub(request: Request) -> ConsoleHub:
    hub: ConsoleHub = request.app.state.hub
    return hub


HubDep = Annotated[ConsoleHub, Depends(get_hub)]
