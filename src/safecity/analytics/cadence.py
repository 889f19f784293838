"""When a camera's detector runs, and how its tracks move on the frames it does not.

The detector (YOLOX-nano: 18 ms a frame here, the largest stage) used to run on
every analysed frame with motion, i.e. nearly every frame of a street. Most of
those runs find the same objects a few pixels on. ``DetectorCadence`` runs it only

- when the motion gate shows motion that nothing known explains: a motion region
  covered less than half by the (widened) boxes of the live tracks and of the
  regions the detector last looked at and found nothing in (``new_motion``);
- when a live track whose box has motion over it cannot be followed: its picture
  is no longer found near where its movement predicts (``lost_lock``);
- at the latest every ``refresh_frames`` analysed frames while anything moves or
  any track is alive (``refresh``), which corrects boxes, classes and confidences,
  drops tracks whose object is gone and re-checks the dismissed regions;
- on the frame after a run that began a new track (``confirm``): the tracker confirms
  a track on its second box and drops one it does not see again, and an object that
  stands still when it is first found (a car waiting at a red light, found by a
  refresh once it is large enough) shows no motion that would run the detector again,
  so its track was dropped unconfirmed at every refresh and never reached the rules
  or the plate reader. A box the detector finds once and not again (a false find)
  still never becomes a track, and a confirming run is never followed by another.

On the frames in between each live track is handed to the tracker again with its
own class and last detector confidence, its box moved by template matching
(``vision.follow``) where motion covers it and left in place where nothing
moves (a parked car, a bag left behind: the stationary rules need them alive).
The tracker then keeps its ids as if the detector had found them.

Motion the detector looked at and found nothing in (a tree in the wind, or on the
simulator's drawn frames every vehicle, which YOLOX-nano does not see) is
remembered as *dismissed*; the memory follows the moving blob from frame to
frame (a region mostly covered by last frame's dismissed boxes is the same
blob) and is cleared by the next refresh, so such motion costs one detector
run a refresh period, not one a frame. A new object that enters touching a
dismissed blob or a track is only looked at by the next refresh: the latency
is bounded by ``refresh_frames``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from safecity.vision.detections import Detections
from safecity.vision.follow import BoxFollower, Grey, WorkFrame
from safecity.vision.picture import Picture

Reason = Literal["new_motion", "lost_lock", "refresh", "confirm"]
REASONS: tuple[Reason, ...] = ("new_motion", "lost_lock", "refresh", "confirm")

_GRID = 8
"""Sample points per side of a region when measuring how much of it boxes cover."""


@dataclass(frozen=True)
class CadenceSettings:
    refresh_frames: int
    """Run the detector at least every this many analysed frames while anything is live."""
    widen: float = 0.25
    """Boxes are widened by this fraction of their size on each side before they are
    said to cover a motion region (the object moved since, the region has a trail)."""
    covered: float = 0.5
    """A motion region is explained when at least this share of it lies in the boxes."""
    regrow: float = 2.0
    """A dismissed blob grown to this many times the area the detector looked at is looked
    at again (an object entering the picture shows a little more of itself each frame)."""

    def __post_init__(self) -> None:
        if self.refresh_frames < 1:
            raise ValueError(f"refresh_frames must be at least 1, got {self.refresh_frames}")
        if not 0 < self.covered <= 1:
            raise ValueError(f"covered must be in (0, 1], got {self.covered}")


@dataclass
class _Track:
    xyxy: tuple[float, float, float, float]
    class_id: int
    confidence: float
    template: Grey | None
    velocity: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Plan:
    """What to do with one frame: run the detector (and why), or hand ``carried`` to the
    tracker in its place."""

    run: Reason | None
    carried: Detections = field(default_factory=Detections.empty)


class DetectorCadence:
    """The cadence of one camera's detector; feed it every analysed frame in order."""

    def __init__(self, settings: CadenceSettings, follower: BoxFollower | None = None) -> None:
        self.settings = settings
        self._follower = follower or BoxFollower()
        self._tracks: dict[int, _Track] = {}
        self._dismissed = np.zeros((0, 4), np.float32)
        self._checked = np.zeros(0, np.float32)
        """Per dismissed box: the area of the region the detector last looked at."""
        self._since_run = 0
        self._frame: WorkFrame | None = None
        self._unconfirmed = False
        """The last frame began a track the tracker has not confirmed yet."""
        self._confirming = False
        """The frame being planned runs the detector to confirm a track (at most one such
        run in a row: a find that does not confirm, say a low and jittery box on a dark
        parked car, begins a new track every run and would run it on every frame)."""

    @property
    def live_tracks(self) -> int:
        return len(self._tracks)

    def live_boxes(self) -> npt.NDArray[np.float32]:
        """Boxes of the live tracks (N x 4), where the detector should look again."""
        if not self._tracks:
            return np.zeros((0, 4), np.float32)
        return np.array([track.xyxy for track in self._tracks.values()], np.float32)

    def plan(self, image: Picture | npt.NDArray[np.uint8], regions: Detections) -> Plan | None:
        """None when there is nothing to look at (no motion, no live track); otherwise
        whether the detector must run, or the tracks carried to this frame."""
        self._frame = self._follower.prepare(image)
        self._confirming = self._unconfirmed
        if self._confirming:
            self._since_run += 1
            return Plan("confirm")
        if not len(regions) and not self._tracks:
            self._dismiss(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
            return None
        self._since_run += 1
        boxes = self.live_boxes()
        moving = _coverage(boxes, regions.xyxy) > 0
        if self._since_run >= self.settings.refresh_frames:
            return Plan("refresh")
        carried = self._carry(self._frame, boxes, moving)
        if carried is None:
            return Plan("lost_lock")
        by_tracks = _coverage(regions.xyxy, _widened(carried.xyxy, self.settings.widen))
        near = _widened(self._dismissed, self.settings.widen)
        by_either = _coverage(
            regions.xyxy,
            _widened(np.concatenate([carried.xyxy, self._dismissed]), self.settings.widen),
        )
        # The dismissed blobs followed to where they are now, each with the area checked.
        blobs = by_tracks < self.settings.covered
        checked = np.array(
            [_largest_overlapping(box, near, self._checked) for box in regions.xyxy[blobs]],
            np.float32,
        )
        grown = _areas(regions.xyxy[blobs]) > self.settings.regrow * checked
        if np.any(by_either < self.settings.covered) or np.any(grown):
            return Plan("new_motion")
        self._dismiss(regions.xyxy[blobs], checked)
        return Plan(None, carried)

    def detected(self, regions: Detections, found: Detections) -> None:
        """After a detector run: regions with no detection over them are dismissed."""
        self._since_run = 0
        covered = _coverage(regions.xyxy, _widened(found.xyxy, self.settings.widen))
        empty = regions.xyxy[covered < self.settings.covered]
        self._dismiss(empty, _areas(empty))

    def _dismiss(self, boxes: npt.NDArray[np.float32], checked: npt.NDArray[np.float32]) -> None:
        self._dismissed = np.array(boxes, np.float32).reshape(-1, 4)
        self._checked = np.array(checked, np.float32).reshape(-1)

    def tracked(self, tracked: Detections, *, unconfirmed: int = 0) -> None:
        """The tracker's output for the frame just planned: the live tracks from now on;
        ``unconfirmed``: how many new tracks it began and has not confirmed yet."""
        self._unconfirmed = unconfirmed > 0 and not self._confirming
        frame = self._frame
        if frame is None or tracked.tracker_id is None:
            self._tracks = {}
            return
        alive: dict[int, _Track] = {}
        for row, track_id in enumerate(tracked.tracker_id.tolist()):
            x1, y1, x2, y2 = (float(v) for v in tracked.xyxy[row])
            before = self._tracks.get(track_id)
            velocity = (0.0, 0.0)
            if before is not None:
                # Centres, not corners: a detector's box of the same object varies in size.
                bx1, by1, bx2, by2 = before.xyxy
                velocity = ((x1 + x2 - bx1 - bx2) / 2, (y1 + y2 - by1 - by2) / 2)
            alive[track_id] = _Track(
                (x1, y1, x2, y2),
                int(tracked.class_id[row]),
                float(tracked.confidence[row]),
                self._follower.template(frame, (x1, y1, x2, y2)),
                velocity,
            )
        self._tracks = alive

    def _rows(self, rows: npt.NDArray[np.intp], boxes: npt.NDArray[np.float32]) -> Detections:
        """Live tracks ``rows`` (in ``_tracks`` order) at ``boxes``, with class and confidence."""
        tracks = list(self._tracks.values())
        return Detections.create(
            boxes[rows],
            [tracks[row].confidence for row in rows],
            [tracks[row].class_id for row in rows],
        )

    def _carry(
        self, frame: WorkFrame, boxes: npt.NDArray[np.float32], moving: npt.NDArray[np.bool_]
    ) -> Detections | None:
        """The live tracks moved to this frame, or None if one with motion over it is lost."""
        if not self._tracks:
            return Detections.empty()
        moved = boxes.copy()
        for row, track in enumerate(self._tracks.values()):
            if not moving[row]:
                continue
            if track.template is None:
                return None
            found = self._follower.follow(frame, track.template, track.xyxy, track.velocity)
            if found is None or found.score < self._follower.settings.min_score:
                return None
            moved[row] = found.xyxy
        return self._rows(np.arange(len(moved)), moved)


def _widened(boxes: npt.NDArray[np.float32], fraction: float) -> npt.NDArray[np.float32]:
    if not len(boxes) or fraction == 0:
        return boxes
    size = np.concatenate([boxes[:, 2:] - boxes[:, :2]] * 2, axis=1)
    signs = np.array([-1, -1, 1, 1], np.float32)
    grown: npt.NDArray[np.float32] = (boxes + size * signs * fraction).astype(np.float32)
    return grown


def _areas(boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    areas: npt.NDArray[np.float32] = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return areas


def _largest_overlapping(
    box: npt.NDArray[np.float32], boxes: npt.NDArray[np.float32], values: npt.NDArray[np.float32]
) -> float:
    """The largest of ``values`` whose ``boxes`` overlap ``box`` (0 if none does)."""
    overlap = (
        (boxes[:, 0] < box[2])
        & (boxes[:, 2] > box[0])
        & (boxes[:, 1] < box[3])
        & (boxes[:, 3] > box[1])
    )
    return float(values[overlap].max()) if np.any(overlap) else 0.0


def _coverage(
    regions: npt.NDArray[np.float32], boxes: npt.NDArray[np.float32]
) -> npt.NDArray[np.float64]:
    """For each region, the share of it (on a grid of sample points) inside any box."""
    if not len(regions):
        return np.zeros(0)
    if not len(boxes):
        return np.zeros(len(regions))
    steps = (np.arange(_GRID) + 0.5) / _GRID
    xs = regions[:, 0:1] + (regions[:, 2:3] - regions[:, 0:1]) * steps  # R x G
    ys = regions[:, 1:2] + (regions[:, 3:4] - regions[:, 1:2]) * steps
    inside_x = (xs[:, :, None] >= boxes[:, 0]) & (xs[:, :, None] <= boxes[:, 2])  # R x G x B
    inside_y = (ys[:, :, None] >= boxes[:, 1]) & (ys[:, :, None] <= boxes[:, 3])
    # A point (x_i, y_j) is covered if some box holds both coordinates.
    hits = (inside_x[:, :, None, :] & inside_y[:, None, :, :]).any(axis=3)  # R x G x G
    share: npt.NDArray[np.float64] = hits.mean(axis=(1, 2))
    return share
