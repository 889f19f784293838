"""Helpers of the analytics suites: a simulated clip with ground truth, an inbox on the bus,
and a plate reader that answers from the simulator's ground truth.

The oracle reader stands in for ``safecity.vision.plates`` (built on another branch)
behind the same interface: it finds the frame number burned into the picture, then
reports the plate of every simulated vehicle whose box at that frame lies in the region.
It exercises the ANPR stage (read per track, fuse, publish once) without an OCR model.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from safecity.bus.interface import M
from safecity.contracts.base import Message
from safecity.sim.counter import read_counter
from safecity.sim.truth import GroundTruth, PlateSample

CAMERA = "cam-01"


@dataclass(frozen=True)
class OracleRead:
    text: str
    confidence: float
    box: tuple[int, int, int, int]
    lines: tuple[str, ...] = ()
    rule: str = "generic"


def fuse_by_vote(reads: Sequence[OracleRead]) -> OracleRead | None:
    """The most frequent text, with the share of votes as its confidence."""
    if not reads:
        return None
    text, votes = Counter(read.text for read in reads).most_common(1)[0]
    best = max((read for read in reads if read.text == text), key=lambda r: r.confidence)
    return OracleRead(text, votes / len(reads), best.box, best.lines, best.rule)


def fuse_keeping_confidence(reads: Sequence[OracleRead]) -> OracleRead | None:
    """The vote's text with the best confidence it was read at (``fuse_by_vote`` gives the
    share of votes, 1.0 for a lone read)."""
    fused = fuse_by_vote(reads)
    if fused is None:
        return None
    best = max(r.confidence for r in reads if r.text == fused.text)
    return OracleRead(fused.text, best, fused.box, fused.lines, fused.rule)


def _interpolate(samples: Sequence[PlateSample], frame: int) -> tuple[float, float] | None:
    """Bottom-centre of the vehicle at ``frame``, between the nearest samples."""
    if not samples or not samples[0].frame <= frame <= samples[-1].frame:
        return None
    for before, after in itertools.pairwise(samples):
        if before.frame <= frame <= after.frame:
            span = max(1, after.frame - before.frame)
            w = (frame - before.frame) / span
            bx = before.vehicle_box.x + before.vehicle_box.w / 2
            ax = after.vehicle_box.x + after.vehicle_box.w / 2
            by = before.vehicle_box.y + before.vehicle_box.h
            ay = after.vehicle_box.y + after.vehicle_box.h
            return bx + (ax - bx) * w, by + (ay - by) * w
    box = samples[0].vehicle_box
    return box.x + box.w / 2, box.y + box.h


class OracleReader:
    """``read(image, region)`` as the ANPR reader offers it, answered from ground truth."""

    def __init__(self, truth: GroundTruth, camera: str = CAMERA, *, garbage: bool = False) -> None:
        self._truth = truth
        self._camera = camera
        self._garbage = garbage
        self.calls = 0
        self.hits = 0
        """Reads that found a plate (``calls`` counts every read, with or without)."""

    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> list[OracleRead]:
        self.calls += 1
        frame = read_counter(image_bgr)
        if frame is None:
            return []
        found = []
        for vehicle in self._truth.vehicles:
            for appearance in vehicle.appearances:
                if appearance.camera_id != self._camera:
                    continue
                point = _interpolate(appearance.samples, frame)
                if point is None:
                    continue
                px, py = point
                if region is not None:
                    # The vehicle's ground point lies in the bottom part of its tracked box.
                    x, y, w, h = region
                    if not (x <= px <= x + w and y + h * 0.5 <= py <= y + h * 1.15):
                        continue
                text = "not a plate!" if self._garbage else vehicle.plate
                found.append(OracleRead(text, 0.9, (int(px) - 10, int(py) - 8, 20, 8)))
        self.hits += bool(found)
        return found


# A vehicle only ever partly in the picture (entering at its edge as the clip ends,
# right behind another) may merge with its neighbour's motion; it is not required.
FRAME_HEIGHT = 360


def _wholly_in_view(sample: PlateSample) -> bool:
    box = sample.vehicle_box
    return box.y > 0 and box.y + box.h < FRAME_HEIGHT


def true_plates(truth: GroundTruth, camera: str = CAMERA) -> dict[str, bool]:
    """Each vehicle's plate, and whether it was sampled wholly in view at least twice."""
    return {
        vehicle.plate: any(
            sum(_wholly_in_view(s) for s in a.samples) >= 2
            for a in vehicle.appearances
            if a.camera_id == camera
        )
        for vehicle in truth.vehicles
    }


class Inbox:
    """Every message of some types, as received from the bus."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._changed = asyncio.Event()

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)
        self._changed.set()

    def of(self, kind: type[M]) -> list[M]:
        return [message for message in self.messages if isinstance(message, kind)]

    async def wait_until(self, condition: object, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not callable(condition) or not condition():
                self._changed.clear()
                await self._changed.wait()


def render_sim(folder: Path, seconds: float = 12, seed: int = 5) -> tuple[Path, GroundTruth]:
    from safecity.sim.render import render_city

    # Daylight throughout: a default render passes from day to night within the clip.
    truth = render_city(
        seed, seconds, folder, cameras=1, width=640, height=360, fps=10, lighting="day"
    )
    return folder / f"{CAMERA}.mp4", truth
