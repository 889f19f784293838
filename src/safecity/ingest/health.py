"""A camera's health: stream and recording problems, plus the verdicts of image checks.

Image-content checks (frozen, black, covered, defocused, moved) are pure
functions in ``safecity.vision``; the ingest worker runs them on sampled
frames through the ``FrameCheck`` hook and reports what they find. This module
only keeps track of which problems are open and since when.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from threading import Lock

from safecity.contracts.ingest import CameraHealth, HealthProblem
from safecity.core.clock import utcnow
from safecity.ingest.frames import Frame
from safecity.ingest.reader import ReaderStats
from safecity.ingest.recorder import RecorderStats

logger = logging.getLogger(__name__)

OFFLINE = "offline"
STALLED = "stalled"
RECORDING_FAILED = "recording_failed"
STORAGE_FULL = "storage_full"
CHECK_FAILED = "check_failed"
CLOCK_DRIFT = "clock_drift"
INGEST_CRASHED = "ingest_crashed"  # a camera's worker in a group failed; it is restarted
# As the onboarding check: beyond this, footage times and evidence disagree noticeably.
MAX_CLOCK_OFFSET_SECONDS = 5.0


@dataclass(frozen=True)
class FrameProblem:
    """What an image check found wrong with a frame (code as in ``HealthProblem.code``)."""

    code: str
    detail: str = ""


FrameCheck = Callable[[Frame], Iterable[FrameProblem]]
"""Looks at one sampled frame and returns the problems it sees now (none when fine).

A check may keep state between calls (a reference image for "moved", the last
frames for "frozen"); it is called from one thread, in frame order.
"""


class HealthMonitor:
    """Builds ``CameraHealth`` reports.

    ``check_frame`` and ``report`` may be called from different threads.
    """

    def __init__(
        self,
        camera_id: str,
        *,
        checks: Mapping[str, FrameCheck] | None = None,
        stalled_after_seconds: float = 10.0,
        offline_grace_seconds: float = 10.0,
        max_clock_offset_seconds: float = MAX_CLOCK_OFFSET_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``offline_grace_seconds``: a first connection may take this long before the
        camera counts as offline; a lost stream counts at once."""
        self._camera_id = camera_id
        self._checks = dict(checks or {})
        self._stalled_after = stalled_after_seconds
        self._offline_grace = offline_grace_seconds
        self._max_clock_offset = max_clock_offset_seconds
        self._clock = clock
        self._lock = Lock()
        self._frame_problems: dict[str, tuple[FrameProblem, ...]] = {}
        self._since: dict[str, datetime] = {}

    @property
    def has_checks(self) -> bool:
        return bool(self._checks)

    def check_frame(self, frame: Frame) -> None:
        """Run every image check on ``frame`` and remember what each one found."""
        for name, check in self._checks.items():
            try:
                found = tuple(check(frame))
            except Exception as exc:
                logger.exception("camera %s: image check %s failed", self._camera_id, name)
                found = (FrameProblem(CHECK_FAILED, f"{name}: {type(exc).__name__}"),)
            with self._lock:
                self._frame_problems[name] = found

    def report(self, reader: ReaderStats, recorder: RecorderStats | None) -> CameraHealth:
        now = self._clock()
        problems = self._stream_problems(reader, recorder, now)
        with self._lock:
            if reader.state != "streaming":
                # Verdicts about the last picture mean nothing while there is none.
                self._frame_problems.clear()
            for found in self._frame_problems.values():
                problems.extend((problem.code, problem.detail, None) for problem in found)
            open_problems = self._track(problems, now)
        return CameraHealth(
            camera_id=self._camera_id,
            state=reader.state,
            state_since=reader.state_since,
            fps=round(reader.fps, 2),
            bitrate_bps=round(reader.bitrate_bps),
            last_frame_at=reader.last_frame_at,
            last_frame_pts_seconds=reader.last_frame_pts_seconds,
            reconnects=reader.reconnects,
            codec=reader.codec,
            width=reader.width,
            height=reader.height,
            recording=recorder.recording if recorder is not None else False,
            segments_closed=recorder.segments_closed if recorder is not None else 0,
            frames_dropped=reader.frames_dropped,
            problems=open_problems,
            clock_offset_seconds=reader.clock_offset_seconds,
        )

    def _stream_problems(
        self, reader: ReaderStats, recorder: RecorderStats | None, now: datetime
    ) -> list[tuple[str, str, datetime | None]]:
        problems: list[tuple[str, str, datetime | None]] = []
        down_for = (now - reader.state_since).total_seconds()
        if reader.state == "reconnecting" or (
            reader.state == "connecting" and down_for > self._offline_grace
        ):
            problems.append((OFFLINE, reader.last_error or "no stream yet", reader.state_since))
        if reader.state == "streaming" and reader.last_frame_at is not None:
            silent = (now - reader.last_frame_at).total_seconds()
            if silent > self._stalled_after:
                problems.append((STALLED, f"no frame for {silent:.0f} s", reader.last_frame_at))
        offset = reader.clock_offset_seconds
        drifting = offset is not None and abs(offset) > self._max_clock_offset
        if reader.state == "streaming" and offset is not None and drifting:
            detail = f"camera clock {offset:+.1f} s against ours"
            problems.append((CLOCK_DRIFT, f"{detail} (limit {self._max_clock_offset:.0f} s)", None))
        if recorder is not None and recorder.storage_full and recorder.last_error:
            # Until a segment closes again: a full disk lets a segment open, then fail.
            problems.append((STORAGE_FULL, recorder.last_error, None))
        elif recorder is not None and recorder.last_error and not recorder.recording:
            problems.append((RECORDING_FAILED, recorder.last_error, None))
        return problems

    def _track(
        self, problems: list[tuple[str, str, datetime | None]], now: datetime
    ) -> tuple[HealthProblem, ...]:
        """Give each open problem the time it was first seen; forget the ones that closed."""
        result: dict[str, HealthProblem] = {}
        for code, detail, started in problems:
            if code in result:
                continue  # two checks reporting the same code: the first one speaks
            since = started or self._since.get(code) or now
            self._since[code] = since
            result[code] = HealthProblem(code=code, detail=detail[:300], since=since)
        for code in set(self._since) - set(result):
            del self._since[code]
        return tuple(result.values())
