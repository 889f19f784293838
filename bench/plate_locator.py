"""How often the own plate locator finds the plate in a vehicle region, and its cost.

Renders simulator videos (as ``bench/anpr_accuracy.py --crops`` does: 2 cameras, 10 fps,
encoded and decoded), and for every vehicle's ground-truth plate samples whose plate no
nearer object overlaps, gives the locator the vehicle's box as the region. A sample is
found when a located plate's box has IoU >= 0.5 with the true plate box; "stray" counts
located plates elsewhere (IoU < 0.1 with the true plate). Only plates wholly inside the
region count; those the region cuts are counted apart. ``--jitter J`` boxes the vehicle
as an imperfect detector would: its centre moved by up to J of its size each way and each
side scaled by 1 - J .. 1 + J (uniform, seeded; cut by the frame edge). Milliseconds per
region on one ONNX Runtime thread, the model loaded before timing.

Run: .venv/bin/python bench/plate_locator.py --seeds 8501,8502,8503 --views anpr,overview
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from safecity.sim.truth import CameraView
from safecity.vision.plates.locator import PlateLocator
from safecity.vision.plates.result import PixelBox
from sim_renders import decode_frames, rendered, whole_plate_samples


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


def _jittered(
    box: tuple[int, int, int, int], frame: np.ndarray, jitter: float, rng: np.random.Generator
) -> tuple[int, int, int, int]:
    x, y, w, h = box
    if jitter <= 0:
        return box
    cx = x + w / 2 + rng.uniform(-jitter, jitter) * w
    cy = y + h / 2 + rng.uniform(-jitter, jitter) * h
    w2, h2 = w * (1 + rng.uniform(-jitter, jitter)), h * (1 + rng.uniform(-jitter, jitter))
    x0, y0 = max(0, round(cx - w2 / 2)), max(0, round(cy - h2 / 2))
    x1 = min(frame.shape[1], round(cx + w2 / 2))
    y1 = min(frame.shape[0], round(cy + h2 / 2))
    return x0, y0, max(x1 - x0, 0), max(y1 - y0, 0)


def measure(
    locator: PlateLocator,
    seeds: list[int],
    views: list[CameraView],
    seconds: float,
    jitter: float = 0.0,
) -> tuple[dict[str, list[int]], list[float]]:
    rows: dict[str, list[int]] = {}
    rng = np.random.default_rng(1)
    spent: list[float] = []
    for view in views:
        for seed in seeds:
            with rendered(seed, seconds, view) as render:
                for camera in render.truth.cameras:
                    samples = whole_plate_samples(render.truth, camera.id)
                    wanted = {sample.frame for _, _, sample in samples}
                    frames = decode_frames(render.video(camera), wanted)
                    for _, appearance, sample in samples:
                        if sample.frame not in frames or sample.plate_box is None:
                            continue
                        frame = frames[sample.frame]
                        vehicle = sample.vehicle_box
                        x, y, w, h = _jittered(
                            (vehicle.x, vehicle.y, vehicle.w, vehicle.h), frame, jitter, rng
                        )
                        if min(w, h) < 8:
                            continue
                        region = frame[y : y + h, x : x + w]
                        start = time.perf_counter()
                        located = locator.locate(region)
                        spent.append((time.perf_counter() - start) * 1000)
                        plate = sample.plate_box
                        true_box = PixelBox(plate.x - x, plate.y - y, plate.w, plate.h)
                        inside = (
                            true_box.x >= 0
                            and true_box.y >= 0
                            and true_box.x + true_box.w <= w
                            and true_box.y + true_box.h <= h
                        )
                        if not inside:  # the box cut the plate: nothing whole to find
                            rows.setdefault("plate cut by the region's edge", [0, 0, 0])[0] += 1
                            continue
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


def _order(key: str) -> tuple[int, float, str]:
    """'all' first, then groups by name, plate heights by size."""
    if key == "all":
        return (0, 0.0, key)
    if key.startswith("height "):
        limit = key.split()[-2]
        return (1, float(limit) + (0.5 if ">=" in key else 0.0), key)
    return (2, 0.0, key)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", default="8501,8502,8503")
    parser.add_argument("--views", default="anpr,overview")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--threshold", type=float, default=None, help="override the manifest's")
    parser.add_argument("--jitter", type=float, default=0.0, help="box error, share of size")
    args = parser.parse_args()
    locator = PlateLocator(threads=1, threshold=args.threshold)
    locator.warm_up()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    views: list[CameraView] = [v for v in ("anpr", "overview") if v in args.views.split(",")]
    rows, spent = measure(locator, seeds, views, args.seconds, args.jitter)
    boxes = f"vehicle boxes jittered by {args.jitter:g}" if args.jitter else "true vehicle boxes"
    print(f"seeds {args.seeds}, {args.seconds:g} s, 2 cameras a view, regions: {boxes}")
    print()
    print("| group | plate samples | found (IoU >= 0.5) | stray locations |")
    print("|---|---:|---:|---:|")
    for key in sorted(rows, key=_order):
        if key.startswith("plate cut"):
            continue
        total, hits, stray = rows[key]
        print(f"| {key} | {total} | {hits} ({100 * hits / max(total, 1):.0f} %) | {stray} |")
    cut = rows.get("plate cut by the region's edge", [0])[0]
    print(f"\n{cut} plate samples cut by the region's edge, not counted above")
    ordered = sorted(spent)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else 0.0
    median = statistics.median(spent) if spent else 0.0
    print()
    print(f"ms per region (one thread): median {median:.2f}, p90 {p90:.2f}, {len(spent)} regions")


if __name__ == "__main__":
    main()
