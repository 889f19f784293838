"""Where an alert's time goes inside the server, for ``bench/alert_latency.py --stages``.

Installed in the benchmark's server process only (never in the product), it wraps the
points an alert passes and keeps one timestamp per alert and stage:

- ``received``: the consumer decoded the AlertRaised from the bus;
- ``stored``: the transaction that stored it committed (the hub is called right after);
- ``enqueued``: the hub queued its frame for the consoles (on the event loop);
- ``sent``: a console's sender took it into a frame (the first console to do so).

Beside them it records what could stall the path: every garbage collection
(``gc.callbacks``), every database transaction (its wall time, so a WAL checkpoint run
by a commit shows up as a slow one) and the event loop's lateness (a task that asks to
wake every 5 ms and notes how late it woke). The report lists the stage intervals and,
for the slowest alerts, what overlapped their time in the server.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from safecity.contracts.alerts import AlertRaised
from safecity.contracts.base import Message
from safecity.web import console_socket, hub
from safecity.web.platform import Platform

_SEQ = re.compile(r"bench [0-9a-f]+-(\d+)")
_LAG_TICK_SECONDS = 0.005
STAGES = ("received", "stored", "enqueued", "sent")


def summary(values: list[float]) -> dict[str, float]:
    """p50, p95 and max in milliseconds (NaN when there is nothing)."""
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    return {
        "p50": 1000 * ordered[len(ordered) // 2],
        "p95": 1000 * ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": 1000 * ordered[-1],
    }


@dataclass
class Span:
    what: str
    start: float  # time.time()
    seconds: float


@dataclass
class StageProbe:
    at: dict[str, dict[int, float]] = field(default_factory=lambda: {s: {} for s in STAGES})
    spans: list[Span] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _gc_started: float = 0.0
    _gc_cpu_started: float = 0.0
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def mark(self, stage: str, text: str) -> None:
        now = time.time()
        with self._lock:
            for match in _SEQ.finditer(text):
                self.at[stage].setdefault(int(match.group(1)), now)

    def span(self, what: str, start: float, seconds: float) -> None:
        with self._lock:
            self.spans.append(Span(what, start, seconds))

    def reset(self) -> None:
        with self._lock:
            self.at = {s: {} for s in STAGES}
            self.spans = []

    # -- installing --------------------------------------------------------------------------

    def install(self, platform: Platform) -> None:
        self._wrap_decode()
        self._wrap_transaction(platform)
        self._wrap_hub()
        gc.callbacks.append(self._on_gc)
        self._undo.append(lambda: gc.callbacks.remove(self._on_gc))

    def uninstall(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    def _wrap_decode(self) -> None:
        # Message.decode is inherited: shadow it on AlertRaised, remove the shadow to undo.
        original = Message.__dict__["decode"].__func__
        probe = self

        def decode(cls: type[Message], data: bytes, headers: Any = None) -> Message:
            message: Message = original(cls, data, headers)
            if isinstance(message, AlertRaised):
                probe.mark("received", message.title)
            return message

        AlertRaised.decode = classmethod(decode)  # type: ignore[assignment,method-assign]
        self._undo.append(lambda: delattr(AlertRaised, "decode"))

    def _wrap_transaction(self, platform: Platform) -> None:
        original = platform.transaction
        probe = self

        @contextmanager
        def timed() -> Iterator[Any]:
            start, began = time.time(), time.perf_counter()
            try:
                with original() as session:
                    yield session
            finally:
                name = threading.current_thread().name
                probe.span(f"transaction ({name})", start, time.perf_counter() - began)

        platform.transaction = timed  # type: ignore[method-assign]
        self._undo.append(lambda: setattr(platform, "transaction", original))

    def _wrap_hub(self) -> None:
        broadcast, deliver, bind = (
            hub.ConsoleHub.broadcast,
            hub.ConsoleHub._deliver,
            hub.ConsoleHub.bind,
        )
        frame_of = hub.frame_of  # console_socket's copy of the name is the one it calls
        probe = self

        def on_broadcast(
            self: hub.ConsoleHub, district_id: int, kind: str, payload: Any, **kw: Any
        ) -> None:
            probe.mark("stored", str(payload.get("title", "")))
            broadcast(self, district_id, kind, payload, **kw)

        def on_deliver(self: hub.ConsoleHub, frame: str, *args: Any) -> None:
            deliver(self, frame, *args)
            probe.mark("enqueued", frame)

        def on_frame(messages: list[str]) -> str:
            probe.mark("sent", "".join(messages))
            return frame_of(messages)

        def on_bind(self: hub.ConsoleHub, loop: asyncio.AbstractEventLoop) -> None:
            bind(self, loop)
            loop.create_task(probe._watch_loop(), name="stage-probe-loop-lag")

        hub.ConsoleHub.broadcast = on_broadcast  # type: ignore[method-assign]
        setattr(hub.ConsoleHub, "_deliver", on_deliver)  # noqa: B010 - a probe's wrapper
        hub.ConsoleHub.bind = on_bind  # type: ignore[method-assign]
        setattr(console_socket, "frame_of", on_frame)  # noqa: B010

        def undo() -> None:
            hub.ConsoleHub.broadcast = broadcast  # type: ignore[method-assign]
            hub.ConsoleHub._deliver = deliver  # type: ignore[method-assign]
            hub.ConsoleHub.bind = bind  # type: ignore[method-assign]
            setattr(console_socket, "frame_of", frame_of)  # noqa: B010

        self._undo.append(undo)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            self._gc_cpu_started = time.thread_time()
            return
        seconds = time.perf_counter() - self._gc_started
        # Young collections take microseconds; keep the ones that could be felt.
        if seconds > 0.002:
            self.span(f"gc gen{info['generation']}", time.time() - seconds, seconds)
            # The collector runs in the thread that triggered it: its CPU time apart from
            # the wall time tells the collector's own work from waiting for a core.
            cpu = time.thread_time() - self._gc_cpu_started
            self.span(f"gc gen{info['generation']} CPU", time.time() - seconds, cpu)

    async def _watch_loop(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(_LAG_TICK_SECONDS)
            late = time.perf_counter() - before - _LAG_TICK_SECONDS
            if late > 0.02:
                self.span("event loop blocked", time.time() - late, late)

    # -- the report ----------------------------------------------------------------------------

    def report(self, published: dict[int, float], counted: set[int], slowest: int = 5) -> str:
        lines = []
        points = [("published", published), *((s, self.at[s]) for s in STAGES)]
        for (name_a, a), (name_b, b) in itertools.pairwise(points):
            gaps = [b[s] - a[s] for s in counted if s in a and s in b]
            stats = summary(gaps)
            lines.append(
                f"  {name_a} -> {name_b}: p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms, "
                f"max {stats['max']:.1f} ms ({len(gaps)} alerts)"
            )
        totals = sorted(
            (self.at["sent"][s] - published[s], s)
            for s in counted
            if s in published and s in self.at["sent"]
        )
        by_kind: dict[str, list[float]] = {}
        for span in self.spans:
            by_kind.setdefault(re.sub(r" \(.*\)", "", span.what), []).append(span.seconds)
        for kind, seconds in sorted(by_kind.items()):
            stats = summary(seconds)
            lines.append(
                f"  {kind}: {len(seconds)} over the run, p50 {stats['p50']:.1f} ms, "
                f"p95 {stats['p95']:.1f} ms, max {stats['max']:.1f} ms, "
                f"total {1000 * sum(seconds):.0f} ms"
            )
        for total, seq in totals[-slowest:][::-1]:
            start, end = published[seq], self.at["sent"][seq]
            stages = ", ".join(
                f"{s} +{1000 * (self.at[s][seq] - start):.0f}" for s in STAGES if seq in self.at[s]
            )
            overlapping = [
                f"{sp.what} {1000 * sp.seconds:.0f} ms"
                for sp in self.spans
                if sp.start < end
                and sp.start + sp.seconds > start
                and sp.seconds > 0.01
                and not sp.what.endswith("CPU")
            ]
            lines.append(
                f"  slow alert {seq}: {1000 * total:.0f} ms ({stages}); overlapping: "
                + ("; ".join(overlapping[:8]) or "nothing over 10 ms")
            )
        return "\n".join(lines)
