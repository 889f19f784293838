"""Decoded frames and the bounded queue that hands them to analytics.

Frames travel by reference: a ``Frame`` holds PyAV's ``VideoFrame`` as decoded,
and a consumer converts only what it needs (``frame.image.to_ndarray(...)``).
The queue is bounded and drops the OLDEST frame when full: analytics on a live
camera wants the newest picture, and a slow consumer must never hold back the
reader (which also feeds the recorder).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from safecity.vision.picture import Picture

# Formats whose first plane is the picture's luma at full resolution.
_PLANAR_LUMA = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"}
)
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded video frame of a camera."""

    camera_id: str
    image: av.VideoFrame
    sequence: int
    """Counts frames handed on by this reader, from 0."""
    pts_seconds: float | None
    """Stream timestamp (camera's clock); None when the stream carried none."""
    received_at: datetime
    """Wall-clock time (UTC) the frame's packet arrived."""
    key_frame: bool


class DropOldestQueue(Generic[T]):
    """A thread-safe FIFO of at most ``capacity`` items; ``put`` on a full queue evicts the oldest.

    ``dropped`` counts evicted items, so the loss is visible in health reports.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._dropped = 0
        self._accepted = 0
        self._closed = False

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def dropped(self) -> int:
        with self._lock:
            return self._dropped

    @property
    def accepted(self) -> int:
        """Items put since creation, including those dropped later."""
        with self._lock:
            return self._accepted

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def put(self, item: T) -> T | None:
        """Append ``item``; return the item evicted to make room, or None."""
        with self._lock:
            evicted = None
            if len(self._items) >= self._capacity:
                evicted = self._items.popleft()
                self._dropped += 1
            self._items.append(item)
            self._accepted += 1
            self._ready.notify()
            return evicted

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item, waiting up to ``timeout`` seconds; None on timeout or once closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not self._items:
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._ready.wait(remaining)
            return self._items.popleft()

    def close(self) -> None:
        """Wake every waiting ``get``; items already queued can still be taken."""
        with self._lock:
            self._closed = True
            self._ready.notify_all()


def picture_of(
    image: av.VideoFrame,
    reformatter: VideoReformatter | None = None,
    lock: threading.Lock | None = None,
) -> Picture:
    """The decoded frame as analytics takes it: grey from its luma plane without any
    conversion, colour converted only if a stage asks (``vision.picture``).

    Colour is converted by swscale on the calling thread, with ``reformatter``'s context
    when one is given (held under ``lock``): a camera's frames keep their size and
    format, so one context (``ColourConverter``) serves them all, where PyAV's
    ``to_ndarray`` sets up a new one for every frame, and with its default of one
    scaling thread per core."""

    def to_bgr() -> npt.NDArray[np.uint8]:
        converter = reformatter or VideoReformatter()
        with lock or contextlib.nullcontext():
            converted = converter.reformat(image, format="bgr24", threads=1)
        return np.asarray(converted.to_ndarray(), dtype=np.uint8)

    name = image.format.name
    if name not in _PLANAR_LUMA:
        return Picture.from_bgr(to_bgr())
    plane = image.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
    luma = rows[: image.height, : image.width]
    limited = not name.startswith("yuvj") and image.color_range != _FULL_RANGE
    return Picture.from_luma(luma, to_bgr, limited_range=limited)


class ColourConverter:
    """One camera's frames made Pictures, their colour converted with one kept swscale
    context. The camera's analysis thread does all its conversions today; the lock keeps
    the shared context whole if a Picture is ever converted on another thread (PyAV
    converts without the GIL)."""

    def __init__(self) -> None:
        self._reformatter = VideoReformatter()
        self._lock = threading.Lock()

    def picture(self, image: av.VideoFrame) -> Picture:
        return picture_of(image, self._reformatter, self._lock)
