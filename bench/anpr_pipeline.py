"""Plate accuracy of the analytics pipeline itself on simulated video, per vehicle.

``anpr_accuracy.py --crops`` hands the reader each vehicle's ground-truth boxes and
frames; this runs what a camera's worker runs (``analytics.pipeline``: the demo's
configuration, the bundled sim-vehicles detector with its cadence, ByteTrack, the ANPR
stage choosing frames and fusing a track's reads, the real plate reader on one
thread) on every second frame of each render's cameras (5 analysed fps of 10), and
compares the published ``PlateRead`` messages with ``ground_truth.json``:

- a vehicle counts if its whole plate is in view in at least one ground-truth sample
  of that camera (the crops bench's vehicles);
- read exactly: a read of that camera carries its registration and overlaps its time
  on the camera; read wrongly: not read exactly, but a read whose text is no vehicle
  of that camera overlaps its time;
- false reads: reads whose text is no vehicle on that camera, per camera-hour of video;
- read again: reads of a vehicle's own plate beyond the first within its time on the
  camera (one pass stored twice: its track was lost and found, or it was found as two
  objects), which doubles an operator's search results and hotlist alerts.

Vehicles are also counted by plate height, lighting, glare, layout and motion smear
(how far the renderer's motion blur drags the plate on the middle sample, in plate
heights: a character's strokes are about a tenth of its plate's height, and past about
a fifth the characters of these 12-30 px plates run into each other). ``--misses`` lists every
vehicle not read exactly, with what was read near it.

Frames are stepped in order (no clock, no dropping), so the counts do not depend on the
machine's load. The milliseconds are the process's CPU time a frame (one thread: the
reader runs inline), so a busy machine sways them less than wall time (which the bench
reported before 2026-12-07 13:00 UTC).

    nice .venv/bin/python bench/anpr_pipeline.py --seeds 8501,8502,8503 --locator first,only
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import av
import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from safecity.analytics.main import plate_reader  # noqa: E402
from safecity.analytics.pipeline import PipelineCamera, build_pipeline  # noqa: E402
from safecity.contracts.analytics import PlateRead  # noqa: E402
from safecity.contracts.base import Message  # noqa: E402
from safecity.events.plates import confusable_key  # noqa: E402

try:
    from safecity.demo.analytics import demo_analytics_config
except ImportError:  # a version before safecity.demo, measured with PYTHONPATH (before/after)
    demo_analytics_config = importlib.import_module("safecity.demo_video").demo_analytics_config
from safecity.ingest.frames import picture_of  # noqa: E402
from safecity.sim.truth import Appearance, GroundTruth  # noqa: E402
from safecity.vision.detectors import load_detector  # noqa: E402
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR, SIM_VEHICLES  # noqa: E402
from safecity.vision.plates import PlateReader  # noqa: E402
from sim_renders import camera_visits, rendered, smear  # noqa: E402

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
FPS = 10
EVERY = 2
GLARE = 0.3
"""A plate's glare from which it counts as glared (the renderer draws a streak past 0.05)."""
Locator = Literal["off", "first", "only"]


@dataclass
class Tally:
    """Vehicles, exact and wrong reads of one group, and vehicles a hotlist entry of their
    plate would have caught (a read near it equal to it but for OCR-confusable characters,
    as ``events.hotlists`` matches)."""

    vehicles: int = 0
    exact: int = 0
    wrong: int = 0
    listed: int = 0

    def add(self, exact: bool, wrong: bool, listed: bool) -> None:
        self.listed += int(listed)
        self.vehicles += 1
        self.exact += int(exact)
        self.wrong += int(wrong)


@dataclass
class Outcome:
    """One reader configuration over every render."""

    groups: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    reads: int = 0
    false_reads: int = 0
    repeated: int = 0
    """Reads of a vehicle's plate beyond its first on that appearance (one pass read twice)."""
    camera_seconds: float = 0.0
    ms_per_frame: list[float] = field(default_factory=list)
    wrong_confidence: list[float] = field(default_factory=list)
    right_confidence: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def _band(value: float | None, edges: tuple[float, ...], unit: str) -> str:
    """The group of ``value`` between ``edges``: "< 12 px", "12-20 px", ..., ">= 45 px"."""
    if value is None:
        return "unknown"
    lower: float | None = None
    for upper in edges:
        if value < upper:
            return f"< {upper:g} {unit}" if lower is None else f"{lower:g}-{upper:g} {unit}"
        lower = upper
    return f">= {edges[-1]:g} {unit}"


def _window(appearance: Appearance) -> tuple[datetime, datetime]:
    return (
        T0 + timedelta(seconds=appearance.first_frame / FPS),
        T0 + timedelta(seconds=appearance.last_frame / FPS),
    )


def _overlaps(read: PlateRead, window: tuple[datetime, datetime]) -> bool:
    return read.first_seen <= window[1] and read.last_seen >= window[0]


def _run_camera(
    clip: Path, locator: Locator, media: Path, spent: list[float], *, unsmear: bool
) -> list[PlateRead]:
    detector = load_detector(BUNDLED_MODELS_DIR / f"{SIM_VEHICLES}.yaml")
    reader, fuse = plate_reader(1, locator)
    if not unsmear and isinstance(reader, PlateReader):
        reader.unsmear = False  # a checkout from before it ignores the attribute
    published: list[Message] = []
    pipeline = build_pipeline(
        PipelineCamera("cam", media, demo_analytics_config(SIM_VEHICLES), 1),
        detector,
        reader,
        published.append,
        fuse=fuse,
    )
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % EVERY:
                continue
            start = time.process_time()
            pipeline.process(picture_of(frame), T0 + timedelta(seconds=index / FPS))
            spent.append((time.process_time() - start) * 1000)
    pipeline.flush()
    return [message for message in published if isinstance(message, PlateRead)]


def _score(truth: GroundTruth, camera_id: str, reads: list[PlateRead], outcome: Outcome) -> None:
    on_camera = camera_visits(truth, camera_id)
    plates = {vehicle.plate for vehicle, _ in on_camera}
    outcome.reads += len(reads)
    for read in reads:
        if read.text in plates:
            outcome.right_confidence.append(read.confidence)
        else:
            outcome.false_reads += 1
            outcome.wrong_confidence.append(read.confidence)
    for vehicle, appearance in on_camera:
        if not any(not sample.plate_occluded for sample in appearance.samples):
            continue
        window = _window(appearance)
        near = [read for read in reads if _overlaps(read, window)]
        exact = any(read.text == vehicle.plate for read in near)
        outcome.repeated += max(0, sum(read.text == vehicle.plate for read in near) - 1)
        wrong = not exact and any(read.text not in plates for read in near)
        key = confusable_key(vehicle.plate)
        listed = any(confusable_key(read.text) == key for read in near)
        smeared = smear(appearance)
        glared = vehicle.plate_effects.glare >= GLARE
        clean = smeared is not None and smeared < 0.1 and not glared
        for group in (
            "all",
            f"height {_band(appearance.plate_height_px, (12, 20, 30, 45), 'px')}",
            f"lighting {appearance.lighting}",
            f"smear {_band(smeared, (0.1, 0.2), 'plate height')}",
            "glare" if glared else "no glare",
            f"layout {vehicle.plate_layout}",
            *(["clean (smear < 0.1, no glare)"] if clean else []),
        ):
            outcome.groups[group].add(exact, wrong, listed)
        if not exact:
            outcome.misses.append(
                f"| {truth.seed} {camera_id} | {vehicle.plate} | "
                f"{appearance.plate_height_px or 0:.0f} | "
                f"{appearance.lighting} | {smeared if smeared is not None else float('nan'):.2f} | "
                f"{vehicle.plate_effects.glare:.2f} | "
                + (", ".join(f"{read.text} {read.confidence:.2f}" for read in near) or "-")
                + " |"
            )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="8501,8502,8503", help="render seeds, comma-separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="simulated seconds a render")
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--view", choices=("anpr", "overview"), default="anpr")
    parser.add_argument(
        "--locator", default="first,only", help="plate reader paths (off, first, only), in turn"
    )
    parser.add_argument("--misses", action="store_true", help="list every vehicle not read exactly")
    parser.add_argument(
        "--no-unsmear",
        dest="unsmear",
        action="store_false",
        help="the reader does not unsmear located plates it read nothing on (on by default, "
        "as in the workers: ANALYTICS_PLATE_UNSMEAR)",
    )
    args = parser.parse_args()
    cv2.setNumThreads(1)  # the CPU a frame is this thread's: no OpenCV pool beside it
    seeds = [int(seed) for seed in args.seeds.split(",")]
    locators: list[Locator] = []
    for name in args.locator.split(","):
        if name not in ("off", "first", "only"):
            parser.error(f"--locator: off, first or only, not {name!r}")
        locators.append(name)
    outcomes = {locator: Outcome() for locator in locators}
    for seed in seeds:
        with rendered(seed, args.seconds, args.view, cameras=args.cameras, fps=FPS) as render:
            for camera in render.truth.cameras:
                for locator in locators:
                    outcome = outcomes[locator]
                    reads = _run_camera(
                        render.video(camera),
                        locator,
                        render.folder / "media",
                        outcome.ms_per_frame,
                        unsmear=args.unsmear,
                    )
                    outcome.camera_seconds += args.seconds
                    _score(render.truth, camera.id, reads, outcome)
    label = f"seeds {args.seeds}, {args.view}, {args.seconds:g} s x {args.cameras} cameras"
    print(
        "| render | plate reader | vehicles | read exactly | hotlist would match | read wrongly "
        "| reads | read again (same pass) | false reads (per camera-hour) "
        "| CPU ms a frame mean / median / p90 |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for locator, outcome in outcomes.items():
        tally = outcome.groups["all"]
        share = f"{100 * tally.exact / tally.vehicles:.0f} %" if tally.vehicles else "-"
        per_hour = outcome.false_reads * 3600 / outcome.camera_seconds
        spent = outcome.ms_per_frame
        print(
            f"| {label} | {locator} | {tally.vehicles} | {tally.exact} ({share}) | "
            f"{tally.listed} | {tally.wrong} | {outcome.reads} | {outcome.repeated} | "
            f"{outcome.false_reads} ({per_hour:.0f}) | "
            f"{statistics.mean(spent):.1f} / {statistics.median(spent):.1f} / "
            f"{_percentile(spent, 0.9):.1f} |"
        )
    print()
    print("| plate reader | group | vehicles | read exactly | hotlist would match | read wrongly |")
    print("|---|---|---:|---:|---:|---:|")
    for locator, outcome in outcomes.items():
        for key in sorted(outcome.groups):
            if key != "all":
                tally = outcome.groups[key]
                print(
                    f"| {locator} | {key} | {tally.vehicles} | {tally.exact} | {tally.listed} | "
                    f"{tally.wrong} |"
                )
    if args.misses:
        for locator, outcome in outcomes.items():
            print()
            print(f"Not read exactly, {locator}:")
            print()
            print(
                "| render, camera | plate | height px | lighting | smear | glare | reads near it |"
            )
            print("|---|---|---:|---|---:|---:|---|")
            print("\n".join(outcome.misses))
    print()
    print("| plate reader | confidence of right reads p10 / p50 / p90 | of false reads |")
    print("|---|---|---|")
    for locator, outcome in outcomes.items():
        right, wrong = outcome.right_confidence, outcome.wrong_confidence
        print(
            f"| {locator} | "
            + " / ".join(f"{_percentile(right, q):.2f}" for q in (0.1, 0.5, 0.9))
            + " | "
            + " / ".join(f"{_percentile(wrong, q):.2f}" for q in (0.1, 0.5, 0.9))
            + " |"
        )


if __name__ == "__main__":
    main()
