"""The ANPR stage: read a vehicle's plate on several frames of its track, publish one fused read.

It talks to ``safecity.vision.plates`` only through the small protocols
below (``PlateReader.read(image, region=...)`` and ``fuse_reads(...)``), so
the reader can be swapped or absent. A track is read every ``every_frames``
analysed frames while it lives; its readings are fused when the track ends
(unseen for ``end_after_seconds``) or after ``max_readings`` readings, and
one ``PlateRead`` leaves per track.

Two guards keep text that is not a plate out: a reading whose box centre lies in
one of the camera's ignore regions is dropped, and a fused read whose plate box
stood still while its vehicle's box moved (the camera's on-screen name or clock
read through a passing vehicle's box) is rejected. Both are counted.

Reads go through a ``PlateJobSink`` (``analytics.plate_jobs``): by default the
reader runs at once in the caller's thread; in a worker process the cameras
share one reader thread, and a job's readings arrive on a later frame. A track
has at most one job outstanding, and it ends (its reads fused) only once its
jobs have come back, or ``abandon_after_seconds`` after it was last seen.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from safecity.analytics.plate_jobs import InlinePlateJobs, PlateJob, PlateJobSink
from safecity.analytics.snapshots import crop, write_jpeg
from safecity.contracts.analytics import Box, PlateRead
from safecity.vision.detections import Detections
from safecity.vision.plates.tracks import STATIONARY_MOVE, displacement
from safecity.vision.zones import Polygon, inside_any


class PlateReading(Protocol):
    """What the plate reader returns for one plate in one image."""

    @property
    def text(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def box(self) -> Any:
        """(x, y, w, h) in frame pixels: a tuple, or an object with x, y, w, h."""

    @property
    def lines(self) -> Sequence[str]: ...
    @property
    def rule(self) -> str: ...


class PlateReaderLike(Protocol):
    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> Sequence[Any]: ...


FuseReads = Callable[[Sequence[Any]], Any]


def box_xywh(box: Any) -> tuple[int, int, int, int]:
    """A reader's box as (x, y, w, h) ints, whether it is a tuple or a PixelBox-like object."""
    if hasattr(box, "x"):
        return int(box.x), int(box.y), int(box.w), int(box.h)
    x, y, w, h = box
    return int(x), int(y), int(w), int(h)


@dataclass
class _Sighting:
    at: datetime
    reading: Any
    vehicle: npt.NDArray[np.uint8]
    plate: npt.NDArray[np.uint8]
    vehicle_box: tuple[int, int, int, int]
    """(x, y, w, h) of the vehicle's tracked box in this frame."""


@dataclass
class _TrackPlates:
    first_seen: datetime
    last_seen: datetime
    class_name: str
    frames: int = 0
    attempts: int = 0
    sightings: list[_Sighting] = field(default_factory=list)
    done: bool = False
    pending: int = 0
    """Jobs submitted whose readings have not come back yet."""


@dataclass(frozen=True, slots=True)
class _Asked:
    """What the stage remembers of a job it submitted."""

    track_id: int
    at: datetime
    image: npt.NDArray[np.uint8]
    vehicle_xyxy: tuple[int, int, int, int]
    region: tuple[int, int, int, int]


class PlateStage:
    """Per-camera ANPR bookkeeping; ``observe`` each frame, ``expire``/``flush`` to publish."""

    def __init__(
        self,
        camera_id: str,
        reader: PlateReaderLike | None,
        fuse: FuseReads,
        media_root: Path,
        *,
        every_frames: int = 2,
        max_readings: int = 8,
        end_after_seconds: float = 1.5,
        min_box_width: int = 40,
        max_attempts: int = 6,
        max_reads_per_frame: int = 2,
        jobs: PlateJobSink | None = None,
        abandon_after_seconds: float = 10.0,
    ) -> None:
        self._camera_id = camera_id
        if jobs is None:
            if reader is None:
                raise ValueError("a plate stage needs a reader or a sink of plate jobs")
            jobs = InlinePlateJobs(reader)
        self._jobs = jobs
        self._abandon_after = abandon_after_seconds
        self._answers: deque[tuple[_Asked, Sequence[Any] | None]] = deque()
        self._answers_lock = threading.Lock()
        self._fuse = fuse
        self._media_root = media_root
        self._every = every_frames
        self._max = max_readings
        self._end_after = end_after_seconds
        self._min_width = min_box_width
        # OCR costs tens of milliseconds a call: a track gets a bounded number of tries
        # and a frame a bounded number of calls (largest vehicles first), so the stage's
        # cost per frame has a ceiling however busy the road is.
        self._max_attempts = max_attempts
        self._max_per_frame = max_reads_per_frame
        self._tracks: dict[int, _TrackPlates] = {}
        self._ignore: tuple[Polygon, ...] = ()
        self.rejected = 0
        """Fused reads that were not a valid registration (garbage) and were dropped."""
        self.stationary = 0
        """Fused reads dropped because the text stood still while its vehicle moved."""
        self.ignored = 0
        """Readings dropped because they lay in an ignore region."""
        self.jobs_dropped = 0
        """Plate jobs the shared reader dropped (its queue was full) before they ran."""

    def set_ignore(self, regions: Sequence[Polygon]) -> None:
        """Ignore regions in the pixels of the frames that follow (readings there are dropped)."""
        self._ignore = tuple(regions)

    def observe(
        self,
        at: datetime,
        image: npt.NDArray[np.uint8],
        vehicles: Detections,
        class_names: Sequence[str],
    ) -> list[PlateRead]:
        """Ask for the plates of the vehicle tracks in this frame; returns the reads of tracks
        that finished (with the readings that came back since the last frame)."""
        height, width = image.shape[:2]
        finished = self._take_answers()
        if vehicles.tracker_id is not None:
            widths = vehicles.xyxy[:, 2] - vehicles.xyxy[:, 0]
            budget = self._max_per_frame
            for row in np.argsort(-widths).tolist():
                track_id = int(vehicles.tracker_id[row])
                track = self._tracks.setdefault(
                    track_id, _TrackPlates(first_seen=at, last_seen=at, class_name=class_names[row])
                )
                track.last_seen = at
                track.frames += 1
                if track.done or track.pending or (track.frames - 1) % self._every or budget <= 0:
                    continue
                x1, y1, x2, y2 = (int(v) for v in vehicles.xyxy[row])
                if x2 - x1 < self._min_width or track.attempts >= self._max_attempts:
                    continue
                budget -= 1
                track.attempts += 1
                track.pending += 1
                region = (
                    max(0, x1),
                    max(0, y1),
                    min(width, x2) - max(0, x1),
                    min(height, y2) - max(0, y1),
                )
                asked = _Asked(track_id, at, image, (x1, y1, x2, y2), region)
                self._jobs.submit(
                    PlateJob(
                        self._camera_id,
                        image,
                        region,
                        partial(self._answer, asked),
                        tries=track.attempts - 1,
                    )
                )
        finished.extend(self._take_answers())
        finished.extend(self.expire(at))
        return finished

    def _answer(self, asked: _Asked, readings: Sequence[Any] | None) -> None:
        """Called by the reader's thread (or a submitter's, for a dropped job): hand over only."""
        with self._answers_lock:
            self._answers.append((asked, readings))

    def _take_answers(self) -> list[PlateRead]:
        with self._answers_lock:
            answers = list(self._answers)
            self._answers.clear()
        finished: list[PlateRead] = []
        for asked, readings in answers:
            track = self._tracks.get(asked.track_id)
            if track is None:
                continue  # flushed meanwhile
            track.pending -= 1
            if readings is None:
                self.jobs_dropped += 1
                track.attempts -= 1  # a dropped job was no try: the track may ask again
                continue
            if track.done:
                continue
            for reading in readings:
                bx, by, bw, bh = box_xywh(reading.box)
                if self._in_ignored_region(bx + bw / 2, by + bh / 2):
                    self.ignored += 1
                    continue
                track.sightings.append(
                    _Sighting(
                        at=asked.at,
                        reading=reading,
                        vehicle=crop(asked.image, asked.vehicle_xyxy, margin=0.0),
                        plate=crop(asked.image, (bx, by, bx + bw, by + bh), margin=0.05),
                        vehicle_box=asked.region,
                    )
                )
            if len(track.sightings) >= self._max:
                track.done = True
                finished.extend(self._publishable(asked.track_id, track))
        return finished

    def expire(self, at: datetime) -> list[PlateRead]:
        # A track whose readings are still on their way ends when they come back,
        # unless the reader has kept them far longer than a frame takes.
        ended = [
            track_id
            for track_id, track in self._tracks.items()
            if (unseen := (at - track.last_seen).total_seconds()) > self._end_after
            and (not track.pending or unseen > self._abandon_after)
        ]
        reads: list[PlateRead] = []
        for track_id in ended:
            track = self._tracks.pop(track_id)
            if not track.done:
                reads.extend(self._publishable(track_id, track))
        return reads

    def flush(self) -> list[PlateRead]:
        reads = self._take_answers()
        for track_id, track in list(self._tracks.items()):
            if not track.done:
                reads.extend(self._publishable(track_id, track))
        self._tracks.clear()
        return reads

    def _publishable(self, track_id: int, track: _TrackPlates) -> list[PlateRead]:
        track.done = True
        if not track.sightings:
            return []
        fused = self._fuse([sighting.reading for sighting in track.sightings])
        if fused is None:
            return []
        if _text_stood_still(track.sightings, str(fused.text)):
            self.stationary += 1
            return []
        best = max(track.sightings, key=lambda s: float(s.reading.confidence))
        bx, by, bw, bh = box_xywh(best.reading.box)
        try:
            message = PlateRead(
                camera_id=self._camera_id,
                at=best.at,
                first_seen=track.sightings[0].at,
                last_seen=track.sightings[-1].at,
                track_id=track_id,
                text=str(fused.text),
                confidence=min(1.0, max(0.0, float(fused.confidence))),
                rule=str(getattr(fused, "rule", "generic") or "generic")[:40],
                lines=tuple(str(line) for line in getattr(fused, "lines", ()))[:4],
                frames=len(track.sightings),
                box=Box(x=max(0, bx), y=max(0, by), w=max(1, bw), h=max(1, bh)),
                vehicle_class=track.class_name,
            )
        except ValidationError:
            # Garbage text (lower case, symbols, too long): a rejected read, never a crash.
            self.rejected += 1
            return []
        plate_path = (
            write_jpeg(self._media_root, self._camera_id, best.at, best.plate, label="plate")
            if best.plate.size
            else None
        )
        vehicle_path = (
            write_jpeg(self._media_root, self._camera_id, best.at, best.vehicle, label="vehicle")
            if best.vehicle.size
            else None
        )
        return [
            message.model_copy(update={"plate_crop": plate_path, "vehicle_image": vehicle_path})
        ]

    def _in_ignored_region(self, x: float, y: float) -> bool:
        if not self._ignore:
            return False
        return bool(inside_any(self._ignore, np.array([[x, y]], dtype=np.float32))[0])


def _text_stood_still(sightings: Sequence[_Sighting], text: str) -> bool:
    """The fused text's box did not move across the track's frames while the vehicle did:
    the text is in the picture (an on-screen display, a sign), not on the vehicle."""
    same = [s for s in sightings if str(s.reading.text) == text] or list(sightings)
    if len({s.at for s in same}) < 2:
        return False
    plate_moved = displacement([box_xywh(s.reading.box) for s in same])
    vehicle_moved = displacement([s.vehicle_box for s in same])
    return plate_moved < STATIONARY_MOVE <= vehicle_moved
