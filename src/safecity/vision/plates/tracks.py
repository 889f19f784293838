"""Follow plates from frame to frame so each vehicle is read once (by fusion).

Plates are small and few per frame, so a greedy association is enough: each
new read joins the open track whose plate is nearest to where the track's own
motion puts it by now (centre distance in plate heights, boxes overlapping or
close), with the same text allowing a longer jump. Without the prediction a fast
vehicle read every other frame moves more than the jump allowed between two
reads, and one misread character split its pass into two tracks, two texts for
one vehicle. A track closes when no read has joined it for ``max_gap`` frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from safecity.vision.plates.fusion import fuse_reads
from safecity.vision.plates.result import PlateRead

_STATIONARY_READS = 5
STATIONARY_MOVE = 0.5
"""A plate that moved less than this many plate heights did not move."""


@dataclass
class _Track:
    number: int
    first_frame: int
    last_frame: int
    reads: list[PlateRead] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)

    @property
    def last(self) -> PlateRead:
        return self.reads[-1]

    def add(self, frame: int, read: PlateRead) -> None:
        self.reads.append(read)
        self.frames.append(frame)
        self.last_frame = frame

    def predicted_centre(self, frame: int) -> tuple[float, float]:
        """Where the plate's centre should be at ``frame``, moving on as between its last
        two reads (where it was last read, for a track read once)."""
        x, y = self.last.box.centre
        if len(self.reads) < 2 or self.frames[-1] == self.frames[-2]:
            return float(x), float(y)
        px, py = self.reads[-2].box.centre
        steps = (frame - self.frames[-1]) / (self.frames[-1] - self.frames[-2])
        return float(x + (x - px) * steps), float(y + (y - py) * steps)


@dataclass(frozen=True)
class TrackRead:
    """The fused read of one closed track and the frames it spans."""

    track: int
    read: PlateRead
    first_frame: int
    last_frame: int
    reads: int
    moved: float
    """Largest distance of the plate from where it was first read, in plate heights."""
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    """Where each of its reads lay, (x, y, w, h), in the order read."""

    @property
    def stationary(self) -> bool:
        """Read often without moving: text burned into the picture (camera name, clock),
        a sign, or a parked vehicle."""
        return self.reads >= _STATIONARY_READS and self.moved < STATIONARY_MOVE


class PlateTracks:
    """Associates per-frame reads into tracks; :meth:`update` returns the tracks it closed."""

    def __init__(self, max_gap: int = 15, max_jump: float = 3.0, same_text_jump: float = 8.0):
        if max_gap < 1:
            raise ValueError(f"max_gap must be at least 1 frame, got {max_gap}")
        self.max_gap = max_gap
        self.max_jump = max_jump
        self.same_text_jump = same_text_jump
        self._open: list[_Track] = []
        self._next = 1

    def update(self, frame: int, reads: list[PlateRead]) -> list[TrackRead]:
        """Add one frame's reads (frames in increasing order)."""
        taken: set[int] = set()
        pairs = sorted(
            (
                (distance, read_index, track_index)
                for read_index, read in enumerate(reads)
                for track_index, track in enumerate(self._open)
                if (distance := self._distance(track, frame, read)) is not None
            ),
            key=lambda item: item[0],
        )
        joined: set[int] = set()
        for _, read_index, track_index in pairs:
            if read_index in joined or track_index in taken:
                continue
            self._open[track_index].add(frame, reads[read_index])
            joined.add(read_index)
            taken.add(track_index)
        for read_index, read in enumerate(reads):
            if read_index not in joined:
                track = _Track(self._next, frame, frame)
                track.add(frame, read)
                self._open.append(track)
                self._next += 1
        closed = [track for track in self._open if frame - track.last_frame > self.max_gap]
        self._open = [track for track in self._open if frame - track.last_frame <= self.max_gap]
        return _fused(closed)

    def finish(self) -> list[TrackRead]:
        """Close every open track (end of the video)."""
        closed, self._open = self._open, []
        return _fused(closed)

    def _distance(self, track: _Track, frame: int, read: PlateRead) -> float | None:
        last = track.last
        (ax, ay), (bx, by) = track.predicted_centre(frame), read.box.centre
        scale = max(1.0, float(max(last.box.h, read.box.h)))
        distance = float(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5) / scale
        limit = self.same_text_jump if last.text == read.text else self.max_jump
        if distance > limit and last.box.iou(read.box) <= 0:
            return None
        return distance - (1.0 if last.text == read.text else 0.0)


def _fused(tracks: list[_Track]) -> list[TrackRead]:
    done = []
    for track in sorted(tracks, key=lambda item: item.number):
        fused = fuse_reads(track.reads)
        if fused is not None:
            done.append(
                TrackRead(
                    track.number,
                    fused,
                    track.first_frame,
                    track.last_frame,
                    len(track.reads),
                    _moved(track.reads),
                    tuple(read.box.as_tuple() for read in track.reads),
                )
            )
    return done


def _moved(reads: list[PlateRead]) -> float:
    return displacement([read.box.as_tuple() for read in reads])


def displacement(boxes: Sequence[tuple[float, float, float, float]]) -> float:
    """Largest distance of a box's centre from the first box's centre, in heights of the
    tallest box; boxes are (x, y, w, h). Under :data:`STATIONARY_MOVE`, text read in these
    boxes has not moved."""
    if not boxes:
        raise ValueError("displacement needs at least one box")
    first_x, first_y = boxes[0][0] + boxes[0][2] / 2, boxes[0][1] + boxes[0][3] / 2
    scale = max(1.0, float(max(box[3] for box in boxes)))
    return (
        max(
            float(((x + w / 2 - first_x) ** 2 + (y + h / 2 - first_y) ** 2) ** 0.5)
            for x, y, w, h in boxes
        )
        / scale
    )


def still_text(tracks: Sequence[TrackRead], *, share: float = 0.8) -> frozenset[int]:
    """The tracks, by number, of text that stood still over a whole video: a text read
    at least :data:`_STATIONARY_READS` times in all its tracks, ``share`` of those reads
    within :data:`STATIONARY_MOVE` plate heights of their median place. A camera's name
    or clock is read on some frames and not others, so it comes out as several short
    tracks, each too short to count as stationary alone, and a read of the whole overlay
    line now and then moves a single track's box: judged together they stand still."""
    by_text: dict[str, list[TrackRead]] = {}
    for track in tracks:
        by_text.setdefault(track.read.text, []).append(track)
    still: set[int] = set()
    for group in by_text.values():
        boxes = [box for track in group for box in track.boxes]
        if len(boxes) < _STATIONARY_READS:
            continue
        xs = sorted(x + w / 2 for x, _, w, _ in boxes)
        ys = sorted(y + h / 2 for _, y, _, h in boxes)
        middle_x, middle_y = xs[len(xs) // 2], ys[len(ys) // 2]
        reach = STATIONARY_MOVE * max(1.0, float(max(h for *_, h in boxes)))
        near = sum(
            ((x + w / 2 - middle_x) ** 2 + (y + h / 2 - middle_y) ** 2) ** 0.5 <= reach
            for x, y, w, h in boxes
        )
        if near >= share * len(boxes):
            still.update(track.track for track in group)
    return frozenset(still)
