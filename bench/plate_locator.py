"""How often the own plate locator finds the plate in a vehicle region, and its cost.

Renders simulator videos (as ``bench/anpr_accuracy.py --crops`` does: 2 cameras, 10 fps,
encoded and decoded), and for every vehicle's ground-truth plate samples whose plate no
nearer object overlaps, gives the locator the vehicle's box as the region. A sample is
found when a located plate's box has IoU >= 0.5 with the true plate box; "stray" counts
located plates elsewhere (IoU < 0.1 with the true plate). Milliseconds per region on one
ONNX Runtime thread, the model loaded before timing.

Run: .venv/bin/python bench/plate_locator.py --seeds 8501,8502,8503 --views anpr,overview
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from safecity.sim.render import render_city
from safecity.sim.truth import CameraView
from safecity.vision.plates.locator import PlateLocator
from safecity.vision.plates.result import PixelBox


def _decode(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    frames: dict[int, np.ndarray] = {}
    capture = cv2.VideoCapture(str(video))
    index = 0
    ok, frame = capture.read()
    while ok and len(frames) < len(wanted):
        if index in wanted:
            frames[index] = frame
        index += 1
        ok, frame = capture.read()
    capture.release()
    return frames


def _bucket(height: float | None) -> str:
    if height is None:
        return "unknown"
    for limit in (8, 12, 20, 30, 45):
        if height < limit:
            return f"< {limit} px"
    return ">= 45 px"


def _add(rows: dict[str, list[int]], keys: list[str], hit: bool, stray: int) -> None:
    for key in keys:
        row = rows.setdefault(key, [0, 0, 0])
        row[0] += 1
        row[1] += int(hit)
        row[2] += stray


def measure(
    locator: PlateLocator, seeds: list[int], views: list[CameraView], seconds: float
) -> tuple[dict[str, list[int]], list[float]]:
    rows: dict[str, list[int]] = {}
    spent: list[float] = []
    for view in views:
        for seed in seeds:
            with tempfile.TemporaryDirectory() as folder:
                truth = render_city(seed, seconds, Path(folder), cameras=2, fps=10, view=view)
                for camera in truth.cameras:
                    samples = [
                        (appearance, sample)
                        for vehicle in truth.vehicles
                        for appearance in vehicle.appearances
                        if appearance.camera_id == camera.id
                        for sample in appearance.samples
                        if not sample.plate_occluded and sample.plate_box is not None
                    ]
                    frames = _decode(Path(folder) / camera.file, {s.frame for _, s in samples})
                    for appearance, sample in samples:
                        if sample.frame not in frames or sample.plate_box is None:
                            continue
                        box = sample.vehicle_box
                        region = frames[sample.frame][box.y : box.y + box.h, box.x : box.x + box.w]
                        start = time.perf_counter()
                        located = locator.locate(region)
                        spent.append((time.perf_counter() - start) * 1000)
                        plate = sample.plate_box
                        true_box = PixelBox(plate.x - box.x, plate.y - box.y, plate.w, plate.h)
                        overlaps = [p.box.iou(true_box) for p in located]
                        hit = any(value >= 0.5 for value in overlaps)
                        stray = sum(value < 0.1 for value in overlaps)
                        keys = [
                            "all",
                            f"view {view}",
                            f"height {_bucket(sample.plate_height_px)}",
                            f"lighting {appearance.lighting}",
                        ]
                        _add(rows, keys, hit, stray)
    return rows, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", default="8501,8502,8503")
    parser.add_argument("--views", default="anpr,overview")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--threshold", type=float, default=None, help="override the manifest's")
    args = parser.parse_args()
    locator = PlateLocator(threads=1, threshold=args.threshold)
    locator.warm_up()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    views: list[CameraView] = [v for v in ("anpr", "overview") if v in args.views.split(",")]
    rows, spent = measure(locator, seeds, views, args.seconds)
    print(f"seeds {args.seeds}, {args.seconds:g} s, 2 cameras a view, regions: true vehicle boxes")
    print()
    print("| group | plate samples | found (IoU >= 0.5) | stray locations |")
    print("|---|---:|---:|---:|")
    for key in sorted(rows, key=lambda k: (k != "all", k)):
        total, hits, stray = rows[key]
        print(f"| {key} | {total} | {hits} ({100 * hits / max(total, 1):.0f} %) | {stray} |")
    ordered = sorted(spent)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else 0.0
    median = statistics.median(spent) if spent else 0.0
    print()
    print(f"ms per region (one thread): median {median:.2f}, p90 {p90:.2f}, {len(spent)} regions")


if __name__ == "__main__":
    main()
