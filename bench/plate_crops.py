"""The own plate model on ground-truth plate crops of simulator renders, models side by side.

Renders each seed (both cameras, 10 fps, H.264 as the benchmarks' videos) in each view,
decodes the frames of every ground-truth plate sample (up to five per appearance, whole
plate in the frame, not overlapped) and reads the plate's box, grown as a plate locator
would box it (``--margin-x`` of the width left and right, ``--margin-y`` of the height
above and below), with each model's :class:`~safecity.vision.plates.slots.SlotRecogniser`
(one ONNX Runtime thread). A read counts only when it equals the registration exactly.

Prints markdown tables: exact reads by plate height, lighting and the vehicle's motion
blur; the confidence of right and wrong reads; and, per confidence threshold, how many
right and wrong reads reach it (the reader trusts a read of the own model at
``SLOTS_SURE`` in ``safecity.vision.plates.slot_reads``).

Run (development seeds only; never the seeds reserved for evaluation):
    .venv/bin/python bench/plate_crops.py --seeds 8501,8502,8503 \\
        --models old=build/old/plate_recogniser.json,new=shipped
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safecity.sim.truth import CameraView
from safecity.vision.plates.slots import SlotRead, SlotRecogniser, shipped_manifest
from sim_renders import decode_frames, rendered, whole_plate_samples

VIEWS: tuple[CameraView, ...] = ("anpr", "overview")
THRESHOLDS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class PlateCrop:
    """One ground-truth plate crop with what it shows."""

    image: np.ndarray
    plate: str
    height_px: float
    lighting: str
    motion_blur: float
    view: CameraView


def plate_crops(
    seed: int, view: CameraView, seconds: float, margin_x: float, margin_y: float
) -> list[PlateCrop]:
    """Every unoccluded whole-plate sample of a fresh render of ``seed``, boxed with margins."""
    crops: list[PlateCrop] = []
    with rendered(seed, seconds, view) as render:
        for camera in render.truth.cameras:
            visits = whole_plate_samples(render.truth, camera.id)
            frames = decode_frames(render.video(camera), {sample.frame for _, _, sample in visits})
            for vehicle, appearance, sample in visits:
                box = sample.plate_box
                if box is None or sample.frame not in frames:
                    continue
                frame = frames[sample.frame]
                grow_x, grow_y = round(box.w * margin_x), round(box.h * margin_y)
                x0, y0 = max(box.x - grow_x, 0), max(box.y - grow_y, 0)
                x1 = min(box.x + box.w + grow_x, frame.shape[1])
                y1 = min(box.y + box.h + grow_y, frame.shape[0])
                if x1 - x0 < 2 or y1 - y0 < 2:
                    continue
                crops.append(
                    PlateCrop(
                        image=frame[y0:y1, x0:x1].copy(),
                        plate=vehicle.plate,
                        height_px=sample.plate_height_px or float(box.h),
                        lighting=appearance.lighting,
                        motion_blur=vehicle.plate_effects.motion_blur,
                        view=view,
                    )
                )
    return crops


def _height_group(height: float) -> str:
    for limit in (8, 12, 16, 20, 30, 45):
        if height < limit:
            return f"height < {limit} px"
    return "height >= 45 px"


def _blur_group(blur: float) -> str:
    if blur < 0.05:
        return "motion blur < 0.05"
    return "motion blur 0.05-0.2" if blur < 0.2 else "motion blur >= 0.2"


def _groups(crop: PlateCrop) -> list[str]:
    return [
        "all",
        f"view {crop.view}",
        _height_group(crop.height_px),
        f"lighting {crop.lighting}",
        _blur_group(crop.motion_blur),
    ]


def _quartiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    picks = [ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.1, 0.5, 0.9)]
    return " / ".join(f"{value:.2f}" for value in picks)


def report(
    crops: list[PlateCrop], reads: dict[str, list[SlotRead]], spent: dict[str, float]
) -> None:
    _group_table(crops, reads)
    print()
    _confidence_table(crops, reads, spent)
    print()
    _threshold_table(crops, reads)


def _group_table(crops: list[PlateCrop], reads: dict[str, list[SlotRead]]) -> None:
    """Exact reads per group, and wrong reads the reader would trust (confidence >= 0.8)."""
    names = list(reads)
    header = "| group | crops |" + "".join(
        f" {name} exact | {name} wrong at >= 0.8 |" for name in names
    )
    print(header)
    print("|---|---:|" + "---:|---:|" * len(names))
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    counts: dict[str, int] = defaultdict(int)
    for index, crop in enumerate(crops):
        for group in _groups(crop):
            counts[group] += 1
            for name in names:
                read = reads[name][index]
                hit = read.text == crop.plate
                table[group][name][0] += int(hit)
                table[group][name][1] += int(not hit and read.confidence >= 0.8)
    order = sorted(counts, key=lambda g: (g != "all", g.split(" ")[0], _sort_key(g)))
    for group in order:
        row = f"| {group} | {counts[group]} |"
        for name in names:
            hits, wrong = table[group][name]
            row += f" {hits} ({100 * hits / counts[group]:.0f} %) | {wrong} |"
        print(row)


def _confidence_table(
    crops: list[PlateCrop], reads: dict[str, list[SlotRead]], spent: dict[str, float]
) -> None:
    print(
        "| model | right reads: confidence p10 / p50 / p90 (reads) "
        "| wrong reads: p10 / p50 / p90 (reads) | ms per crop (median, batch of 1) |"
    )
    print("|---|---|---|---:|")
    for name, found in reads.items():
        pairs = list(zip(found, crops, strict=True))
        right = [r.confidence for r, c in pairs if r.text == c.plate]
        wrong = [r.confidence for r, c in pairs if r.text != c.plate]
        print(
            f"| {name} | {_quartiles(right)} ({len(right)}) | {_quartiles(wrong)} ({len(wrong)}) "
            f"| {spent[name]:.2f} |"
        )


def _threshold_table(crops: list[PlateCrop], reads: dict[str, list[SlotRead]]) -> None:
    print("| model | threshold | reads at or above it | right | wrong | share wrong |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, found in reads.items():
        for threshold in THRESHOLDS:
            kept = [(r, c) for r, c in zip(found, crops, strict=True) if r.confidence >= threshold]
            hits = sum(1 for r, c in kept if r.text == c.plate)
            misses = len(kept) - hits
            share = f"{100 * misses / len(kept):.1f} %" if kept else "-"
            print(f"| {name} | {threshold} | {len(kept)} | {hits} | {misses} | {share} |")


def _sort_key(group: str) -> float:
    digits = "".join(ch for ch in group if ch.isdigit() or ch == ".")
    try:
        return float(digits) + (0.5 if ">=" in group else 0.0)
    except ValueError:
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="8501,8502,8503", help="render seeds, comma-separated")
    parser.add_argument("--views", default="anpr,overview", help="camera views, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--margin-x", type=float, default=0.08, help="share of the plate width")
    parser.add_argument("--margin-y", type=float, default=0.25, help="share of the plate height")
    parser.add_argument("--min-height", type=float, default=0.0, help="skip smaller plates")
    parser.add_argument(
        "--models",
        default="shipped=shipped",
        help="name=manifest.json pairs, comma-separated (manifest 'shipped': the package's)",
    )
    args = parser.parse_args()
    crops: list[PlateCrop] = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for name in args.views.split(","):
            if name not in VIEWS:
                raise SystemExit(f"unknown view {name!r}: one of {', '.join(VIEWS)}")
            view = VIEWS[VIEWS.index(name)]
            crops += plate_crops(seed, view, args.seconds, args.margin_x, args.margin_y)
    crops = [crop for crop in crops if crop.height_px >= args.min_height]
    reads: dict[str, list[SlotRead]] = {}
    spent: dict[str, float] = {}
    for pair in args.models.split(","):
        name, _, manifest = pair.partition("=")
        path = shipped_manifest() if manifest == "shipped" else Path(manifest)
        model = SlotRecogniser(path, threads=1)
        model.warm_up()
        times = []
        found = []
        for crop in crops:
            start = time.perf_counter()
            found.extend(model.read([crop.image]))
            times.append((time.perf_counter() - start) * 1000)
        reads[name] = found
        spent[name] = statistics.median(times) if times else 0.0
    print(
        f"{len(crops)} ground-truth plate crops, seeds {args.seeds}, views {args.views}, "
        f"{args.seconds:.0f} s, margins {args.margin_x} / {args.margin_y}"
    )
    print()
    report(crops, reads, spent)


if __name__ == "__main__":
    main()
