"""Opening a camera's source, and the stall guard that bounds a connection's silence.

PyAV yields only packets of the streams it found when the source was opened. An
MPEG-TS camera that changes codec announces a new stream mid-way; FFmpeg returns
that stream's packets, PyAV drops them inside its demux loop, and since each
read returns quickly its read timeout never fires: an endless HTTP stream would
look connected but silent forever. So an HTTP source is read in two layers: a
raw FFmpeg connection (the ``data`` demuxer keeps FFmpeg's HTTP client, its
timeouts, redirects and authentication) hands bytes to the real demuxer through
a Python file object, and that object refuses to read on once the guard says no
packet of the stream being read arrived for too long. The reader then reopens,
which finds the new stream.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import av
import av.container
import av.error
from av.stream import Stream

from safecity.ingest.source import SourceKind, open_options, pyav_target

# Bytes per read of the raw connection: what arrived is returned at once, up to this.
_RAW_READ_BYTES = 65_536


class StreamStalled(Exception):
    """No packet of the stream being read for longer than the guard allows."""


class StallGuard:
    """Tracks when the stream being read last delivered a packet."""

    def __init__(self, limit_seconds: float) -> None:
        self.limit_seconds = limit_seconds
        self._last = time.monotonic()

    def fed(self) -> None:
        """A packet of the stream being read arrived (or the connection just opened)."""
        self._last = time.monotonic()

    def check(self) -> None:
        """Raise :class:`StreamStalled` once the stream has been silent beyond the limit."""
        silent = time.monotonic() - self._last
        if silent > self.limit_seconds:
            raise StreamStalled(
                f"no video packet for {silent:.1f} s while the connection stayed open"
            )


class _GuardedBytes:
    """The raw connection's bytes as a readable file object that stops on a stall."""

    def __init__(self, raw: av.container.InputContainer, guard: StallGuard) -> None:
        self._packets: Iterator[av.Packet[Stream]] = raw.demux()
        self._guard = guard
        self._pending = b""

    def read(self, size: int) -> bytes:
        self._guard.check()
        while not self._pending:
            try:
                packet = next(self._packets, None)
            except (av.error.ExitError, TimeoutError) as exc:
                # The read timeout of the open connection: nothing at all arrived.
                raise StreamStalled(
                    f"no data for {self._guard.limit_seconds:.1f} s"
                    " while the connection stayed open"
                ) from exc
            if packet is None:
                return b""  # the server ended the stream
            self._pending = bytes(packet)
            self._guard.check()
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk


@dataclass
class Connection:
    """An open source: the demuxing container and, for HTTP, the raw connection under it."""

    container: av.container.InputContainer
    raw: av.container.InputContainer | None = None

    def close(self) -> None:
        self.container.close()
        if self.raw is not None:
            self.raw.close()


def open_source(
    url: str,
    kind: SourceKind,
    *,
    open_timeout_seconds: float,
    read_timeout_seconds: float,
    guard: StallGuard,
) -> Connection:
    """Open ``url`` for demuxing; raises PyAV's errors (or ``OSError``) as ``av.open`` does."""
    timeout = (open_timeout_seconds, read_timeout_seconds)
    options = open_options(kind, read_timeout_seconds)
    if kind is not SourceKind.HTTP:
        return Connection(av.open(pyav_target(url), options=options, timeout=timeout))
    probe = {"analyzeduration": options.pop("analyzeduration")}
    raw = av.open(
        url,
        format="data",
        options={**options, "raw_packet_size": str(_RAW_READ_BYTES)},
        timeout=timeout,
    )
    try:
        guard.fed()
        container = av.open(_GuardedBytes(raw, guard), "r", options=probe, timeout=timeout)
    except BaseException:
        raw.close()
        raise
    return Connection(container, raw)
