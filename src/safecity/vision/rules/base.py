"""What a rule returns, the rule interface, and the bookkeeping every rule shares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from safecity.vision.detections import Detections

S = TypeVar("S")


@dataclass(frozen=True)
class Firing:
    """One rule firing on one frame."""

    kind: str
    rule: str
    at: datetime
    track_id: int | None = None
    class_id: int | None = None
    xyxy: tuple[float, float, float, float] | None = None
    value: float | None = None
    direction: str | None = None


class Rule(Protocol):
    @property
    def name(self) -> str: ...

    def update(self, at: datetime, tracked: Detections) -> list[Firing]:
        """Advance to the frame at ``at`` (time order) and return what fired on it."""
        ...


@dataclass(frozen=True)
class ClassFilter:
    """Which detector classes a rule watches; empty means every class (and motion regions)."""

    class_ids: frozenset[int] = frozenset()

    def mask(self, tracked: Detections) -> npt.NDArray[np.bool_]:
        if not self.class_ids:
            return np.ones(len(tracked), dtype=bool)
        return np.isin(tracked.class_id, list(self.class_ids))


@dataclass
class TrackMemory(Generic[S]):
    """Per-track state of one rule; tracks unseen for ``forget_seconds`` are dropped."""

    forget_seconds: float = 10.0
    states: dict[int, S] = field(default_factory=dict)
    last_seen: dict[int, datetime] = field(default_factory=dict)

    def touch(self, track_id: int, at: datetime) -> None:
        self.last_seen[track_id] = at

    def forget_stale(self, at: datetime) -> None:
        stale = [
            track
            for track, seen in self.last_seen.items()
            if (at - seen).total_seconds() > self.forget_seconds
        ]
        for track in stale:
            self.last_seen.pop(track, None)
            self.states.pop(track, None)


def tracked_rows(tracked: Detections, wanted: npt.NDArray[np.bool_]) -> Iterator[tuple[int, int]]:
    """(row index, track id) of each tracked row the mask keeps."""
    if tracked.tracker_id is None:
        return
    for row in np.flatnonzero(wanted):
        yield int(row), int(tracked.tracker_id[row])


def box_of(tracked: Detections, row: int) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in tracked.xyxy[row])
    return (x1, y1, x2, y2)


def firing(
    kind: str,
    rule: str,
    at: datetime,
    tracked: Detections,
    row: int,
    *,
    value: float | None = None,
    direction: str | None = None,
) -> Firing:
    track = None if tracked.tracker_id is None else int(tracked.tracker_id[row])
    return Firing(
        kind=kind,
        rule=rule,
        at=at,
        track_id=track,
        class_id=int(tracked.class_id[row]),
        xyxy=box_of(tracked, row),
        value=value,
        direction=direction,
    )
