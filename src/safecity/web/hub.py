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
of them as ``{"kind": "batch", "frames": [...]}`` when messages piled up.
``broadcast`` may be called from the event loop or from any thread (sync routes run
in a thread pool); it never blocks. A console too slow to keep up loses its oldest
messages, counted in ``dropped``, and is told so with a ``resync`` message so it
reloads the queue instead of showing a stale one.
"""

from __future__ import annotations

import asyncio
import json
import threading
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


@dataclass(eq=False)
class Listener:
    """One connected console: what it may see, and what is waiting to be sent to it."""

    district_ids: frozenset[int] | None  # None: every district
    camera_ids: frozenset[int]
    permissions: frozenset[str]
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    dropped: int = 0
    stale: bool = False

    def sees(self, district_id: int, camera_id: int | None, permission: str) -> bool:
        if permission not in self.permissions:
            return False
        if self.district_ids is None or district_id in self.district_ids:
            return True
        return camera_id is not None and camera_id in self.camera_ids

    def offer(self, frame: str) -> None:
        """Queue ``frame``; when full, drop the oldest and mark the console stale."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            self.stale = True
        self.queue.put_nowait(frame)

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


def get_hub(request: Request) -> ConsoleHub:
    hub: ConsoleHub = request.app.state.hub
    return hub


HubDep = Annotated[ConsoleHub, Depends(get_hub)]
