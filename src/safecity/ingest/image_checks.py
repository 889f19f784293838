"""The image health checks of ``safecity.vision`` as an ingest frame check.

The worker hands sampled key frames; this samples them further to about one a
second (the checks' hysteresis is in seconds) and reports what is active now.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

import numpy as np
import numpy.typing as npt

from safecity.ingest.frames import Frame
from safecity.ingest.health import FrameCheck, FrameProblem
from safecity.vision.image_health import CameraImageHealth


def image_health_check(camera_id: str, *, min_interval_seconds: float = 1.0) -> FrameCheck:
    tracker = CameraImageHealth(camera_id)
    last: datetime | None = None
    active: list[FrameProblem] = []

    def check(frame: Frame) -> Iterable[FrameProblem]:
        nonlocal last, active
        at = frame.received_at
        if last is not None and (at - last).total_seconds() < min_interval_seconds:
            return active
        if last is not None and at <= last:
            return active  # the tracker needs time to move forward
        last = at
        image = cast("npt.NDArray[np.uint8]", frame.image.to_ndarray(format="bgr24"))
        update = tracker.observe(at, image)
        active = [
            FrameProblem(code=str(problem), detail=f"since {since.isoformat(timespec='seconds')}")
            for problem, since in sorted(update.active.items())
        ]
        return active

    return check
