"""The ANPR stage: read a vehicle's plate on its best frames, publish one fused read per track.

It talks to ``safecity.vision.plates`` only through the small protocols of
``analytics.plate_reading`` (``PlateReader.read(image, region=...)`` and
``fuse_reads(...)``), so the reader can be swapped or absent.

Which frames are read: every frame of a track is scored (``plate_frames``: the
box wide enough, then width times sharpness, less for a box cut by an edge) and
the track holds its best frame so far. When the track has no job with the reader,
its held frame is submitted if the track was never read, if the frame is clearly
better (``reread_gain``) than the best frame read, or if ``reread_after_seconds``
have passed since the last submission and it is not clearly worse (another view of
the plate for the vote); while its job still waits in the shared queue, a better
frame takes the waiting job's place. A track that left the
picture still gets its held frame read when its last job comes back. A track is
read at most ``max_attempts`` times, and not again once its fused readings are a
confident read that fits a plate format (``confident``); one with no format rule
keeps being tried up to the cap. A track the tracker has not confirmed yet (its first
frame, ``unconfirmed``) is scored and its frame held, but nothing is read until it is
confirmed: a plate whole only as the vehicle comes in is read, a box seen on one frame
only never. What is not read is counted by reason (``skipped``: small, settled,
capped, readings of a plate at the picture's side, tracks that ended unconfirmed, lone
unsure reads; ``superseded``: waiting jobs replaced by a better frame).

Readings are fused when the track ends (unseen for ``end_after_seconds``), once
they are confident, or after ``max_readings`` of them; at most one ``PlateRead``
leaves per track, and none for a read no second frame agrees with that is less
confident than the camera's ``single_read_floor``.

Three guards keep text that is not a plate out, all before fusion and all counted: a
reading whose box centre lies in one of the camera's ignore regions is dropped; so
are the readings of a text whose box stood still while its vehicle's box moved (the
camera's on-screen name or clock read through a passing vehicle's box), and readings
above a plate's place on the vehicle (``vision.plates.vehicle``). Dropping them
before the vote, not rejecting the fused read, lets the plate's own readings decide.

Reads go through a ``PlateJobSink`` (``analytics.plate_jobs``): by default the
reader runs at once in the caller's thread; in a worker process the cameras
share one reader thread, and a job's readings arrive on a later frame. A track
has at most one job outstanding, and it ends (its reads fused) only once its
job has come back, or ``abandon_after_seconds`` after it was last seen.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from safecity.analytics.plate_frames import Skip, at_side, frame_quality
from safecity.analytics.plate_jobs import InlinePlateJobs, PlateJob, PlateJobSink
from safecity.analytics.plate_reading import FuseReads, PlateReaderLike, box_xywh
from safecity.analytics.snapshots import crop, write_jpeg
from safecity.contracts.analytics import Box, PlateRead
from safecity.vision.detections import Detections
from safecity.vision.picture import Picture
from safecity.vision.plates.vehicle import Kept, Sighting, plate_sightings
from safecity.vision.zones import Polygon, inside_any

GENERIC_RULE = "generic"
"""The rule of a read that fits no plate format, only the generic shape of one."""
CONFIDENT = 0.9
"""A fused read at least this confident that fits a plate format settles its track."""
REPEAT_WITHIN_SECONDS = 10.0
"""A track's read whose text this camera published for a track that ended less than this
long before it began is the same vehicle tracked again (its track was lost and found, or
it waits at a light), not a second pass: it is not published again."""


@dataclass
class _Sighting:
    at: datetime
    reading: Any
    vehicle: npt.NDArray[np.uint8]
    plate: npt.NDArray[np.uint8]
    vehicle_box: tuple[int, int, int, int]
    """(x, y, w, h) of the vehicle's tracked box in this frame."""


@dataclass(frozen=True, slots=True)
class _Asked:
    """A frame of a track offered to the reader (held, submitted or waiting)."""

    track_id: int
    at: datetime
    image: npt.NDArray[np.uint8]
    vehicle_xyxy: tuple[int, int, int, int]
    region: tuple[int, int, int, int]
    quality: float


@dataclass
class _TrackPlates:
    first_seen: datetime
    last_seen: datetime
    class_name: str
    frames: int = 0
    attempts: int = 0
    sightings: list[_Sighting] = field(default_factory=list)
    done: bool = False
    offered: _Asked | None = None
    """The job with the reader (waiting or being read) whose answer has not come back."""
    held: _Asked | None = None
    """The best frame seen since the last job was submitted, not offered yet."""
    read_quality: float = 0.0
    """Quality of the best frame read so far (0: never read)."""
    last_asked_at: datetime | None = None
    """Time of the last frame submitted (None: never)."""
    published: str | None = None
    """The text published for the track (or held back as a repeat of one), if any."""
    confirmed: bool = False
    """The tracker has confirmed the track (seen on two frames): until then its best
    frame is held, not read, and a track that ends unconfirmed publishes nothing."""


class PlateStage:
    """Per-camera ANPR bookkeeping; ``observe`` each frame, ``expire``/``flush`` to publish."""

    def __init__(
        self,
        camera_id: str,
        reader: PlateReaderLike | None,
        fuse: FuseReads,
        media_root: Path,
        *,
        max_readings: int = 8,
        end_after_seconds: float = 1.5,
        min_box_width: int = 40,
        max_attempts: int = 4,
        max_reads_per_frame: int = 2,
        jobs: PlateJobSink | None = None,
        abandon_after_seconds: float = 10.0,
        reread_gain: float = 1.2,
        reread_after_seconds: float = 0.4,
        confident: float = CONFIDENT,
        single_read_floor: float = 0.0,
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
        self._max = max_readings
        self._reread_gain = reread_gain
        self._reread_after = reread_after_seconds
        self._confident = confident
        self._single_read_floor = single_read_floor
        self._end_after = end_after_seconds
        self._min_width = min_box_width
        # OCR costs tens of milliseconds a call: a track gets a bounded number of tries
        # and a frame a bounded number of new jobs (tracks never read and best frames
        # first), so the stage's cost per frame has a ceiling however busy the road is.
        self._max_attempts = max_attempts
        self._max_per_frame = max_reads_per_frame
        self._tracks: dict[int, _TrackPlates] = {}
        self._ignore: tuple[Polygon, ...] = ()
        self.rejected = 0
        """Fused reads that were not a valid registration (garbage) and were dropped."""
        self.stationary = 0
        """Tracks that lost readings because their text stood still while the vehicle moved
        (dropped before fusion: the on-screen display read through a vehicle's box)."""
        self.off_vehicle = 0
        """Readings dropped before fusion because they lay above a plate's place on the
        vehicle (``vision.plates.vehicle``: route boards, signs, the on-screen display)."""
        self.ignored = 0
        """Readings dropped because they lay in an ignore region."""
        self.jobs_dropped = 0
        """Plate jobs the shared reader dropped (its queue was full) before they ran."""
        self.jobs_answered = 0
        """Plate jobs the reader ran and answered."""
        self.skipped: dict[str, int] = dict.fromkeys(
            [
                *(reason.value for reason in Skip),
                "settled",
                "capped",
                "plate_at_edge",
                "unconfirmed",
                "unsure_alone",
                "repeat",
            ],
            0,
        )
        self._published: dict[str, datetime] = {}
        """Texts this camera published lately, with the last time their vehicle was seen."""
        """Frames of vehicle tracks not offered to the reader, by reason: the box is too
        narrow, the track already has a confident read, or it was read its
        ``max_attempts`` times; readings dropped because their plate touched the
        picture's left or right edge (half a plate reads as another registration);
        tracks that ended unconfirmed (a box seen on one frame only); fused reads no
        second frame agrees with, under ``single_read_floor`` (``unsure_alone``); and
        reads of a text the camera published for a track that ended moments before
        (``repeat``: the same vehicle tracked again)."""
        self.superseded = 0
        """Waiting jobs replaced by a better frame of the same track before they ran."""

    def set_single_read_floor(self, floor: float) -> None:
        """From now on a read no second frame agrees with is published only if at least
        this confident."""
        self._single_read_floor = floor

    def set_ignore(self, regions: Sequence[Polygon]) -> None:
        """Ignore regions in the pixels of the frames that follow (readings there are dropped)."""
        self._ignore = tuple(regions)

    def observe(
        self,
        at: datetime,
        image: Picture | npt.NDArray[np.uint8],
        vehicles: Detections,
        class_names: Sequence[str],
        unconfirmed: Collection[int] = (),
    ) -> list[PlateRead]:
        """Score this frame for the vehicle tracks in it and offer the reader their best
        frames; returns the reads of tracks that finished (with the readings that came
        back since the last frame). A Picture is converted to colour only if a vehicle
        is in it.

        ``unconfirmed``: ids of tracks the tracker has not confirmed yet (their first
        frame). Their frames are scored and held, so a plate seen whole only as the
        vehicle comes in is read once the track is confirmed; a box seen on one frame
        only is never confirmed and costs no read."""
        finished = self._take_answers()
        if vehicles.tracker_id is not None:
            for row in range(len(vehicles)):
                track_id = int(vehicles.tracker_id[row])
                track = self._tracks.setdefault(
                    track_id, _TrackPlates(first_seen=at, last_seen=at, class_name=class_names[row])
                )
                track.last_seen = at
                track.frames += 1
                track.confirmed = track.confirmed or track_id not in unconfirmed
                x1, y1, x2, y2 = (int(v) for v in vehicles.xyxy[row])
                colour = image.bgr if isinstance(image, Picture) else image
                self._hold(track_id, track, at, colour, (x1, y1, x2, y2))
        # Every track holding a frame is offered, tracks never read and best frames first:
        # one that left the picture while its last job was out still gets its best frame read.
        budget = self._max_per_frame
        holding = [
            (t.attempts, -t.held.quality, t)
            for t in self._tracks.values()
            if t.held and t.confirmed
        ]
        for _, _, track in sorted(holding, key=lambda entry: entry[:2]):
            if track.done:
                continue
            if budget <= 0:
                break
            budget -= int(self._offer(track, at))
        finished.extend(self._take_answers())
        finished.extend(self.expire(at))
        return finished

    def _hold(
        self,
        track_id: int,
        track: _TrackPlates,
        at: datetime,
        image: npt.NDArray[np.uint8],
        xyxy: tuple[int, int, int, int],
    ) -> None:
        """Keep this frame as the track's held one if it is its best; a frame of a track
        that takes no more reads, or no candidate, is counted as skipped."""
        if track.done:
            self.skipped["settled"] += 1
            return
        if track.attempts >= self._max_attempts and track.offered is None:
            self.skipped["capped"] += 1  # (a job still out may yet take a better frame)
            return
        quality = frame_quality(image, xyxy, min_width=self._min_width)
        if isinstance(quality, Skip):
            self.skipped[quality.value] += 1
            return
        if track.held is None or quality.score >= track.held.quality:  # ties: the newer
            height, width = image.shape[:2]
            x1, y1, x2, y2 = xyxy
            region = (
                max(0, x1),
                max(0, y1),
                min(width, x2) - max(0, x1),
                min(height, y2) - max(0, y1),
            )
            track.held = _Asked(track_id, at, image, xyxy, region, quality.score)

    def _offer(self, track: _TrackPlates, now: datetime) -> bool:
        """Hand the track's held frame to the reader if it is worth it: a new job when none is
        out (True), or in the place of its waiting job when clearly better."""
        held = track.held
        if held is None:
            return False
        if track.offered is None:
            if track.attempts >= self._max_attempts or not self._worth_rereading(track, now):
                return False
            track.attempts += 1
            track.last_asked_at = now
            track.offered, track.held = held, None
            self._jobs.submit(self._job(held, tries=track.attempts - 1))
            return True
        # A better frame takes the place of one still waiting: replacing costs no read.
        if held.quality > track.offered.quality and self._jobs.replace(
            self._job(held, tries=track.attempts - 1)
        ):
            self.superseded += 1
            track.offered, track.held = held, None
        return False

    def _worth_rereading(self, track: _TrackPlates, now: datetime) -> bool:
        """A first read always is (but not at once after its job was dropped: a full queue
        would drop it again); another needs a held frame clearly better than the best read,
        or, once some time has passed since the last read (another view of the plate for
        the vote), one not clearly worse."""
        held = track.held
        if held is None:
            return False
        apart = (
            track.last_asked_at is None
            or (now - track.last_asked_at).total_seconds() >= self._reread_after
        )
        if not track.attempts:
            return apart
        if held.quality > track.read_quality * self._reread_gain:
            return True
        return apart and held.quality * self._reread_gain >= track.read_quality

    def _job(self, asked: _Asked, *, tries: int) -> PlateJob:
        return PlateJob(
            self._camera_id,
            asked.image,
            asked.region,
            partial(self._answer, asked),
            tries=tries,
            quality=asked.quality,
            track=asked.track_id,
        )

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
            if track.offered is asked:
                track.offered = None
            if readings is None:
                self.jobs_dropped += 1
                track.attempts -= 1  # a dropped job was no try: the track may ask again
                if track.held is None or asked.quality > track.held.quality:
                    track.held = asked  # still its best frame: offered again
                continue
            self.jobs_answered += 1
            track.read_quality = max(track.read_quality, asked.quality)
            if track.done:
                continue
            for reading in readings:
                bx, by, bw, bh = box_xywh(reading.box)
                if self._in_ignored_region(bx + bw / 2, by + bh / 2):
                    self.ignored += 1
                    continue
                if at_side((bx, by, bw, bh), asked.image.shape[1]):
                    self.skipped["plate_at_edge"] += 1
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
            if len(track.sightings) >= self._max or self._settled(track):
                track.held = None
                finished.extend(self._publishable(asked.track_id, track))
        return finished

    def _settled(self, track: _TrackPlates) -> bool:
        """The track's readings fuse into a confident read that fits a plate format."""
        kept, _ = _plate_sightings(track.sightings)
        if not kept:
            return False
        fused = self._fuse([sighting.reading for sighting in kept])
        return (
            fused is not None
            and str(getattr(fused, "rule", GENERIC_RULE) or GENERIC_RULE) != GENERIC_RULE
            and float(fused.confidence) >= self._confident
        )

    def expire(self, at: datetime) -> list[PlateRead]:
        # A track whose readings are still on their way ends when they come back,
        # unless the reader has kept them far longer than a frame takes.
        ended = [
            track_id
            for track_id, track in self._tracks.items()
            if (unseen := (at - track.last_seen).total_seconds()) > self._end_after
            and (track.offered is None or unseen > self._abandon_after)
        ]
        reads: list[PlateRead] = []
        for track_id in ended:
            track = self._tracks.pop(track_id)
            if not track.done:
                reads.extend(self._publishable(track_id, track))
            elif track.published is not None:
                # Settled long before it left (a car waiting at the light): the repeat
                # window runs from when it was last seen, not from its read.
                seen = self._published.get(track.published, track.last_seen)
                self._published[track.published] = max(seen, track.last_seen)
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
        if not track.confirmed:
            self.skipped["unconfirmed"] += 1
            return []
        kept, verdict = _plate_sightings(track.sightings)
        self.stationary += int(verdict.stood_still > 0)
        self.off_vehicle += verdict.off_vehicle
        if not kept:
            return []
        fused = self._fuse([sighting.reading for sighting in kept])
        if fused is None:
            return []
        agreeing = {s.at for s in kept if _agrees(str(s.reading.text), str(fused.text))}
        if len(agreeing) < 2 and float(fused.confidence) < self._single_read_floor:
            self.skipped["unsure_alone"] += 1
            return []
        best = max(kept, key=lambda s: float(s.reading.confidence))
        message = self._message(track_id, track, kept, fused, best)
        if message is None or self._repeats(message, track):
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

    def _message(
        self,
        track_id: int,
        track: _TrackPlates,
        kept: Sequence[_Sighting],
        fused: Any,
        best: _Sighting,
    ) -> PlateRead | None:
        """The track's read as published; None, counted as rejected, if its text is no
        valid registration (lower case, symbols, too long): a dropped read, never a crash."""
        bx, by, bw, bh = box_xywh(best.reading.box)
        try:
            return PlateRead(
                camera_id=self._camera_id,
                at=best.at,
                first_seen=kept[0].at,
                last_seen=kept[-1].at,
                track_id=track_id,
                text=str(fused.text),
                confidence=min(1.0, max(0.0, float(fused.confidence))),
                rule=str(getattr(fused, "rule", "generic") or "generic")[:40],
                lines=tuple(str(line) for line in getattr(fused, "lines", ()))[:4],
                frames=len({s.at for s in kept}),
                box=Box(x=max(0, bx), y=max(0, by), w=max(1, bw), h=max(1, bh)),
                vehicle_class=track.class_name,
            )
        except ValidationError:
            self.rejected += 1
            return None

    def _repeats(self, read: PlateRead, track: _TrackPlates) -> bool:
        """Whether ``read`` (of ``track``) is a text this camera published for a track
        last seen within ``REPEAT_WITHIN_SECONDS`` of this one's first reading; either way
        the text's last sighting moves on to when ``track`` was last seen (and again when
        a settled track ends, ``expire``), so a vehicle tracked again and again (queueing
        at a light) stays one read. A repeat is counted (``skipped["repeat"]``)."""
        track.published = read.text
        seen_until = track.last_seen
        horizon = read.first_seen.timestamp() - REPEAT_WITHIN_SECONDS
        self._published = {
            text: seen for text, seen in self._published.items() if seen.timestamp() >= horizon
        }
        repeated = read.text in self._published
        previous = self._published.get(read.text, seen_until)
        self._published[read.text] = max(previous, seen_until)
        self.skipped["repeat"] += int(repeated)
        return repeated

    def _in_ignored_region(self, x: float, y: float) -> bool:
        if not self._ignore:
            return False
        return bool(inside_any(self._ignore, np.array([[x, y]], dtype=np.float32))[0])


def _agrees(reading: str, fused: str) -> bool:
    """A frame's reading agrees with the fused text if it differs in one character at most
    (the vote is per character, so the fused text may be no frame's reading)."""
    if len(reading) != len(fused):
        return False
    return sum(a != b for a, b in zip(reading, fused, strict=True)) <= 1


def _plate_sightings(sightings: Sequence[_Sighting]) -> tuple[list[_Sighting], Kept]:
    """The sightings that may be the vehicle's plate (``vision.plates.vehicle``) and the
    verdict on the others."""
    verdict = plate_sightings(
        [
            Sighting(
                frame=s.at.timestamp(),
                text=str(s.reading.text),
                plate_box=box_xywh(s.reading.box),
                vehicle_box=s.vehicle_box,
            )
            for s in sightings
        ]
    )
    return [sightings[index] for index in verdict.kept], verdict
