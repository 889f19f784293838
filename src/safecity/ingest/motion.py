"""Cheap motion detection on the worker's sampled frames, to start event recording.

Each sampled frame is shrunk to a small grey thumbnail and compared with the
previous one: motion is a share of thumbnail pixels whose brightness changed
by more than a threshold. Shrinking first averages away sensor noise and
compression flicker, and costs next to nothing at a frame or two per second.
It is not object detection: swaying trees and headlight sweeps count too,
which for deciding what footage to keep errs on the safe side.
"""

from __future__ import annotations

import numpy as np
from av.video.reformatter import VideoReformatter
from numpy.typing import NDArray

from safecity.ingest.frames import Frame


class MotionDetector:
    """Says whether a frame differs from the previous one; call from one thread, in order."""

    def __init__(
        self,
        *,
        width: int = 64,
        height: int = 36,
        pixel_threshold: int = 20,
        min_changed_share: float = 0.002,
    ) -> None:
        if not 0 < min_changed_share <= 1:
            raise ValueError("min_changed_share must be in (0, 1]")
        self._size = (width, height)
        self._pixel_threshold = pixel_threshold
        self._min_changed = min_changed_share
        self._previous: NDArray[np.int16] | None = None
        # One swscale context for the camera's frames (used by one thread at a time: the
        # worker hands frames over one after another): PyAV's own ``reformat`` sets one
        # up per frame, with a scaling thread per core.
        self._reformatter = VideoReformatter()

    def reset(self) -> None:
        """Forget the last frame (after a reconnect the picture may have changed)."""
        self._previous = None

    def changed_share(self, frame: Frame) -> float | None:
        """Share of thumbnail pixels that changed since the last frame; None for the first."""
        width, height = self._size
        grey = self._reformatter.reformat(
            frame.image, width=width, height=height, format="gray", threads=1
        )
        current = grey.to_ndarray().astype(np.int16)
        previous, self._previous = self._previous, current
        if previous is None or previous.shape != current.shape:
            return None
        changed = np.abs(current - previous) > self._pixel_threshold
        return float(changed.mean())

    def moved(self, frame: Frame) -> bool:
        share = self.changed_share(frame)
        return share is not None and share >= self._min_changed
