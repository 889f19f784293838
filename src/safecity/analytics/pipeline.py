"""One camera's analysis of one frame: motion gate -> detector -> tracker -> rules (+ ANPR).

The detector runs only when it is needed (``analytics.cadence``): on motion that no
live track explains, when a moving track cannot be followed, at least every
``detector_refresh_seconds``, and once more after a run that began a track (so a
vehicle first found standing still is confirmed); on the frames in between the live
tracks are followed without it and handed to the tracker with their class and last
confidence. On the motion gate's first frames (it has no background yet) the detector
looks anyway (``start``): a worker restarted mid-traffic would otherwise miss what is
in view.

The rules see the tracker's confirmed tracks; the ANPR stage also gets a new track's
first, unconfirmed frame (``ObjectTracker.tentative``), which it holds until the track
is confirmed: a vehicle's plate may be whole only as it comes into the picture.

The detector looks at the whole picture when it runs. It used to look at a window
around the motion, but motion regions often cover only part of a vehicle, and a box
cut by the window's edge changes shape from frame to frame, which breaks its track:
on the simulator's ANPR view a third of the vehicles' plate-in-view frames had no
track, and the plate stage never saw them (bench/anpr_pipeline.py,
docs/BENCHMARKS.md). The detector's input has a fixed size, so the whole picture
costs what a window costs.

The camera's ignore regions (its on-screen clock and name, say) are masked in the
motion gate (a region of foreground mostly inside one is dropped), detections that
stand in them (the bottom centre of the box, where a vehicle meets the road) are
dropped, and the ANPR stage drops readings there, so nothing is formed or read in
them. A vehicle cut by the picture's top edge has its box's centre high up, inside a
band over the on-screen display, long after it has come into view below it.

``build_pipeline`` composes it from what it is given (the camera's
configuration, a detector or None, a plate reader or None, and a publisher);
nothing is loaded here. ``process`` runs in the worker's analysis thread and
hands every message to ``publisher``, which must not block (the worker's
publisher queues it for the event loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from safecity.analytics.cadence import CadenceSettings, DetectorCadence
from safecity.analytics.plate_jobs import PlateJobSink
from safecity.analytics.plate_reading import FuseReads, PlateReaderLike
from safecity.analytics.plates import PlateStage
from safecity.analytics.rulebook import build_rules, class_name
from safecity.analytics.snapshots import write_jpeg
from safecity.analytics.timings import StageTimings
from safecity.contracts.analytics import Box, RuleEvent
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.contracts.base import Message
from safecity.vision.detections import Detections
from safecity.vision.detectors import Detector
from safecity.vision.detectors.base import one_box_per_object
from safecity.vision.motion import MotionGate
from safecity.vision.picture import Picture
from safecity.vision.rules import Firing, Rule
from safecity.vision.tracking import ObjectTracker
from safecity.vision.zones import Polygon, inside_any

logger = logging.getLogger(__name__)

Publisher = Callable[[Message], None]

# COCO's vehicle names and the simulator's (the bundled sim-vehicles detector adds van and
# rickshaw): a track of any of these goes to the plate stage.
VEHICLE_CLASSES = frozenset({"car", "van", "bus", "truck", "rickshaw", "motorcycle", "motorbike"})
SAME_VEHICLE_IOU = 0.6
"""Vehicle boxes of different classes overlapping this much are one vehicle (the detector
unsure whether it is a car or a truck): the less confident is dropped before tracking,
or the vehicle gets two tracks and two plate reads."""
CLIP_BEFORE = timedelta(seconds=5)
CLIP_AFTER = timedelta(seconds=5)
_TRACK_ID_SECONDS = 2_000_000
"""Track id offsets repeat after this many seconds (23 days); the largest id stays within
the 32-bit column the events are stored in."""
_TRACK_IDS_PER_SECOND = 1000


def track_id_offset(started: float) -> int:
    """The offset for track ids of a pipeline built at ``started`` (Unix seconds).

    ByteTrack counts a camera's tracks from 1, so a restarted worker published "track 9"
    again for another vehicle. Offsetting by the start second (times a thousand, far more
    tracks than a camera begins in a second) keeps the ids of one run apart from those of
    every run in the 23 days before it."""
    return (int(started) % _TRACK_ID_SECONDS) * _TRACK_IDS_PER_SECOND


@dataclass(frozen=True)
class PipelineCamera:
    """Which camera, where its media go, and its configuration (with version)."""

    camera_id: str
    media_root: Path
    config: CameraAnalyticsConfig
    config_version: int = 0


@dataclass
class PipelineCounters:
    frames: int = 0
    rejected_frames: int = 0
    events: int = 0
    plate_reads: int = 0
    detector_errors: int = 0
    detector_runs: dict[str, int] = field(default_factory=dict)
    """Detector runs by reason (``analytics.cadence.REASONS``, "motion" with refresh 0, or
    "start" while the motion gate learns its first background)."""
    detector_skipped: int = 0
    """Frames with motion or live tracks that the tracks were followed through instead."""
    last_error: str | None = None


@dataclass
class CameraPipeline:
    camera: PipelineCamera
    detector: Detector | None
    plates: PlateStage | None
    publisher: Publisher
    timings: StageTimings = field(default_factory=StageTimings)
    counters: PipelineCounters = field(default_factory=PipelineCounters)
    track_id_offset: int = 0
    """Added to every track id it publishes (``track_id_offset``)."""

    def __post_init__(self) -> None:
        self._motion = MotionGate()
        self._tracker = ObjectTracker(
            frame_rate=self.camera.config.analysed_fps, id_offset=self.track_id_offset
        )
        self._rules: list[Rule] = []
        self._rule_definitions: list[str] = []
        self._ignore: tuple[Polygon, ...] = ()
        self._size: tuple[int, int] | None = None
        self._reconfigured = False
        self._classes: tuple[str, ...] = self.detector.classes if self.detector else ()
        self._cadence = self._new_cadence()
        self._tracks = Detections.empty()

    @property
    def tracks(self) -> Detections:
        """The tracker's output for the last frame analysed (with tracker ids)."""
        return self._tracks

    def _new_cadence(self) -> DetectorCadence | None:
        """None: no detector, or a refresh of 0 (the detector runs on every frame with motion)."""
        config = self.camera.config
        if self.detector is None or config.detector_refresh_seconds == 0:
            return None
        frames = max(1, round(config.detector_refresh_seconds * config.analysed_fps))
        return DetectorCadence(CadenceSettings(refresh_frames=frames))

    @property
    def config_version(self) -> int:
        return self.camera.config_version

    def reconfigure(self, config: CameraAnalyticsConfig, version: int) -> bool:
        """Apply a newer configuration; an older or equal version is ignored (False)."""
        if version <= self.camera.config_version:
            return False
        if config.analysed_fps != self.camera.config.analysed_fps:
            self._tracker.set_frame_rate(config.analysed_fps)
        self.camera = PipelineCamera(self.camera.camera_id, self.camera.media_root, config, version)
        self._reconfigured = True  # rebuild the changed rules on the next frame
        self._cadence = self._new_cadence()
        if self.plates is not None:
            self.plates.set_single_read_floor(config.plate_single_read_floor)
        return True

    def process(self, image: Picture | npt.NDArray[np.uint8], at: datetime) -> None:
        """Analyse one frame (a Picture, or a BGR image); a bad frame is counted and
        skipped, never raised."""
        if isinstance(image, Picture):
            picture = image
        elif image.ndim != 3 or image.shape[2] != 3:
            self.counters.rejected_frames += 1
            self.counters.last_error = f"frame of unexpected shape {image.shape}"
            return
        else:
            picture = Picture.from_bgr(image)
        height, width = picture.shape
        if height < 16 or width < 16:
            self.counters.rejected_frames += 1
            self.counters.last_error = f"frame of unexpected size {width}x{height}"
            return
        if self._size != (width, height):
            # A new resolution: scale the zones to it and start the background afresh.
            self._size = (width, height)
            self._layout(width, height, resized=True)
        elif self._reconfigured:
            self._layout(width, height, resized=False)
        self.counters.frames += 1
        with self.timings.measure("motion"):
            regions = self._motion.regions(picture)
        with self.timings.measure("detect"):
            found = self._outside_ignored(self._objects(picture, regions))
        with self.timings.measure("track"):
            tracked = self._tracker.update(found)
            self._tracks = tracked
            if self._cadence is not None:
                self._cadence.tracked(tracked, unconfirmed=len(self._tracker.tentative))
        with self.timings.measure("rules"):
            firings = [fired for rule in self._rules for fired in rule.update(at, tracked)]
        with self.timings.measure("publish"):
            if firings:
                # Rules firing on the same frame share its one snapshot file.
                image = self._colour(picture)
                snapshot = self._snapshot(image, at, {fired.kind for fired in firings})
                for fired in firings:
                    self._publish_event(fired, image, at, snapshot)
        if self.plates is not None:
            with self.timings.measure("plates"):
                # New tracks too, from their first frame: a vehicle coming in under the
                # picture's edge may show its plate whole on one or two analysed frames.
                tentative = self._tracker.tentative
                candidates = Detections.merge([tracked, tentative])
                names = [class_name(int(c), self._classes) for c in candidates.class_id]
                wanted = np.array(
                    [self.detector is None or name in VEHICLE_CLASSES for name in names], bool
                )
                vehicles = candidates[wanted]
                # The stage reads pixels only inside vehicle boxes: with none, no colour.
                pixels = self._colour(picture) if len(vehicles) else picture
                reads = self.plates.observe(
                    at,
                    pixels,
                    vehicles,
                    [n for n, w in zip(names, wanted, strict=True) if w],
                    unconfirmed=_ids(tentative),
                )
                for read in reads:
                    self.counters.plate_reads += 1
                    self.publisher(read)

    def _layout(self, width: int, height: int, *, resized: bool) -> None:
        """Rules, ignore regions and motion gate for this frame size and configuration.

        After a new configuration of the same size, a rule whose own definition (its
        settings, name and the zone or line it watches) did not change keeps its state: a
        line's count, the time an object has loitered or stood. Rebuilding every rule
        restarted counts at 1 whenever any other rule was added or edited."""
        config = self.camera.config
        self._reconfigured = False
        built = build_rules(config, width, height, self._classes)
        definitions = _rule_definitions(config)
        kept = {} if resized else dict(zip(self._rule_definitions, self._rules, strict=True))
        self._rules = [
            kept.pop(definition, fresh)
            for definition, fresh in zip(definitions, built, strict=True)
        ]
        self._rule_definitions = definitions
        fractions = tuple(Polygon(region.points) for region in config.ignore)
        ignore = tuple(region.scaled(width, height) for region in fractions)
        if resized or ignore != self._ignore:
            self._motion = MotionGate(ignore=fractions)
        self._ignore = ignore
        self._cadence = self._new_cadence()
        if self.plates is not None:
            self.plates.set_ignore(self._ignore)

    def _colour(self, picture: Picture) -> npt.NDArray[np.uint8]:
        """The frame in colour; converting it is timed as its own stage."""
        if picture.has_colour:
            return picture.bgr
        with self.timings.measure("colour"):
            return picture.bgr

    def flush(self) -> None:
        """Publish what open tracks have read so far (on stop)."""
        if self.plates is not None:
            for read in self.plates.flush():
                self.counters.plate_reads += 1
                self.publisher(read)

    def _outside_ignored(self, found: Detections) -> Detections:
        """The detections that stand (box's bottom centre) in no ignore region."""
        if not self._ignore or not len(found):
            return found
        return found[~inside_any(self._ignore, found.anchors())]

    def _objects(self, picture: Picture, regions: Detections) -> Detections:
        """What the tracker is given: the detector's objects, the live tracks followed to
        this frame, or (no model) the motion regions."""
        if self.detector is None:
            return regions  # no model: motion regions are the objects
        plan = self._cadence.plan(picture, regions) if self._cadence is not None else None
        if self._motion.warming_up:
            # No background yet, so no motion to go by, and a worker (re)started mid-traffic
            # would miss the vehicles already in view: the detector looks on these frames.
            found = self._detect(self.detector, picture, regions, "start")
        elif self._cadence is None:
            if not len(regions):
                return Detections.empty()  # no motion: nothing to look at
            return self._detect(self.detector, picture, regions, "motion")
        elif plan is None:
            return Detections.empty()
        elif plan.run is None:
            self.counters.detector_skipped += 1
            return plan.carried
        else:
            found = self._detect(self.detector, picture, regions, plan.run)
        if self._cadence is not None:
            self._cadence.detected(regions, found)
        return found

    def _detect(
        self, detector: Detector, picture: Picture, regions: Detections, reason: str
    ) -> Detections:
        """The detector's objects in the picture (motion ``regions`` if the detector fails)."""
        runs = self.counters.detector_runs
        runs[reason] = runs.get(reason, 0) + 1
        try:
            found = detector.detect(self._colour(picture))
        except Exception as exc:  # a failing model must not stop the camera's other stages
            self.counters.detector_errors += 1
            self.counters.last_error = f"detector: {exc}"[:300]
            logger.warning("camera %s: detector failed: %s", self.camera.camera_id, exc)
            return regions
        vehicles = np.array(
            [class_name(int(c), self._classes) in VEHICLE_CLASSES for c in found.class_id], bool
        )
        return one_box_per_object(found, vehicles, iou_threshold=SAME_VEHICLE_IOU)

    def _snapshot(self, image: npt.NDArray[np.uint8], at: datetime, kinds: set[str]) -> str | None:
        """The frame written once for the rules that fired on it; None if it could not be."""
        label = next(iter(kinds)) if len(kinds) == 1 else "events"
        try:
            return write_jpeg(self.camera.media_root, self.camera.camera_id, at, image, label=label)
        except (OSError, ValueError) as exc:
            logger.warning("camera %s: no snapshot: %s", self.camera.camera_id, exc)
            return None

    def _publish_event(
        self, fired: Firing, image: npt.NDArray[np.uint8], at: datetime, snapshot: str | None
    ) -> None:
        height, width = image.shape[:2]
        box = None
        if fired.xyxy is not None:
            x1, y1, x2, y2 = fired.xyxy
            box = Box(
                x=max(0, int(x1)),
                y=max(0, int(y1)),
                w=max(1, round(x2 - x1)),
                h=max(1, round(y2 - y1)),
            )
        event = RuleEvent(
            camera_id=self.camera.camera_id,
            kind=fired.kind,
            rule=fired.rule,
            at=at,
            track_id=fired.track_id if fired.track_id is None or fired.track_id >= 0 else None,
            object_class=None
            if fired.class_id is None
            else class_name(fired.class_id, self._classes),
            box=box,
            frame_width=width,
            frame_height=height,
            value=fired.value,
            direction=fired.direction,
            snapshot=snapshot,
            clip_start=at - CLIP_BEFORE,
            clip_end=at + CLIP_AFTER,
        )
        self.counters.events += 1
        self.publisher(event)


def _rule_definitions(config: CameraAnalyticsConfig) -> list[str]:
    """Each rule's whole definition, in the configuration's order: its own settings (name
    included), those of the zone and line it watches, and the analysed rate where the rule
    is built for it (a wrong-way window holds a number of frames: kept at a new rate, a
    rule sized for 5 fps would never fill at 0.5)."""
    zones = {zone.name: zone.model_dump_json() for zone in config.zones}
    lines = {line.name: line.model_dump_json() for line in config.lines}
    definitions = []
    for rule in config.rules:
        zone = getattr(rule, "zone", None)
        line = getattr(rule, "line", None)
        watched = (
            zones.get(zone, "") if isinstance(zone, str) else "",
            lines.get(line, "") if isinstance(line, str) else "",
        )
        rate = f"{config.analysed_fps}" if rule.kind in RATE_SIZED_RULES else ""
        definitions.append("\n".join((rule.model_dump_json(), *watched, rate)))
    return definitions


RATE_SIZED_RULES = frozenset({"wrong_way"})
"""Kinds of rule `rulebook.build_rules` sizes by the analysed rate."""


def _ids(detections: Detections) -> frozenset[int]:
    if detections.tracker_id is None:
        return frozenset()
    return frozenset(int(i) for i in detections.tracker_id.tolist())


def build_pipeline(
    camera: PipelineCamera,
    detector: Detector | None,
    plate_reader: PlateReaderLike | None,
    publisher: Publisher,
    *,
    fuse: FuseReads | None = None,
    timings: StageTimings | None = None,
    plate_jobs: PlateJobSink | None = None,
    track_id_offset: int = 0,
) -> CameraPipeline:
    """Compose one camera's pipeline; ANPR runs if the configuration asks and a reader (or a
    shared reader's job queue, ``plate_jobs``) is given."""
    plates = None
    if (plate_reader is not None or plate_jobs is not None) and camera.config.plates:
        if fuse is None:
            raise ValueError("a plate reader needs a fuse function")
        plates = PlateStage(
            camera.camera_id,
            plate_reader,
            fuse,
            camera.media_root,
            jobs=plate_jobs,
            single_read_floor=camera.config.plate_single_read_floor,
        )
    return CameraPipeline(
        camera=camera,
        detector=detector,
        plates=plates,
        publisher=publisher,
        timings=timings or StageTimings(),
        track_id_offset=track_id_offset,
    )
