"""The bundled simulated-vehicle detector against YOLOX-nano on fresh simulator renders.

Renders cities with seeds never used in training (BENCH_SEED_BASE onwards; training
uses 920000-920011, the tests 930000+), both camera views and the three lightings, at
1280x720, and keeps every ``--every``-th frame of each camera. Truth is every vehicle
box of every kept frame (``safecity.sim.boxes``). For each detector: recall and
precision at IoU >= 0.5, class-agnostic (YOLOX-nano knows COCO's names, not the
simulator's), by view, lighting and box size (height in the 1280x720 frame: small
< 48 px, medium < 128 px, large); truth boxes under ``--min-height`` px tall are
neither counted as misses nor do detections on them count as false (don't-care).
Milliseconds per ``detect`` call (letterbox, one-thread ONNX Runtime, decode, NMS) are
the median over the frames.

    nice .venv/bin/python bench/sim_detector.py [--cities 1] [--every 15]
        [--models-dir ../shared/models]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from safecity.sim.boxes import vehicle_boxes  # noqa: E402
from safecity.sim.city import build_city  # noqa: E402
from safecity.sim.frame import CameraRenderer  # noqa: E402
from safecity.sim.render import city_options  # noqa: E402
from safecity.vision.detectors import Detector, load_detector  # noqa: E402
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR, SIM_VEHICLES  # noqa: E402

BENCH_SEED_BASE = 940_000
IOU_MATCH = 0.5
COCO_VEHICLES = ("car", "motorbike", "bus", "truck")  # coco.names spells it so


def iou_matrix(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """IoU of every xyxy box in ``a`` with every one in ``b``."""
    left_top = np.maximum(a[:, None, :2], b[None, :, :2])
    right_bottom = np.minimum(a[:, None, 2:], b[None, :, 2:])
    overlap = np.clip(right_bottom - left_top, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - overlap
    iou: npt.NDArray[np.float32] = (overlap / np.maximum(union, 1e-6)).astype(np.float32)
    return iou


def match(
    truth: npt.NDArray[np.float32], found: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Greedy one-to-one matching by IoU: which truth boxes were found, and for each
    detection the truth box it matched (-1 none)."""
    hit = np.zeros(len(truth), bool)
    owner = np.full(len(found), -1, np.int64)
    if not len(truth) or not len(found):
        return hit, owner
    overlaps = iou_matrix(found, truth)
    for index in np.argsort(-overlaps, axis=None):
        d, t = np.unravel_index(index, overlaps.shape)
        if overlaps[d, t] < IOU_MATCH:
            break
        if owner[d] < 0 and not hit[t]:
            owner[d] = t
            hit[t] = True
    return hit, owner


def size_band(height: float) -> str:
    return "small" if height < 48 else "medium" if height < 128 else "large"


def yolox_nano(models: Path, folder: Path) -> Path:
    """A manifest for the shared YOLOX-nano, vehicle classes only, as an operator writes it."""
    model = models / "yolox-nano" / "yolox_nano.onnx"
    names = (models / "yolo-fastest" / "coco.names").read_text().split("\n")
    classes = [name.strip() for name in names if name.strip()]
    manifest = folder / "yolox-nano.yaml"
    manifest.write_text(
        json.dumps(
            {
                "backend": "onnx_yolo",
                "file": str(model),
                "sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
                "input_width": 416,
                "input_height": 416,
                "layout": "yolox",
                "classes": classes,
                "keep_classes": list(COCO_VEHICLES),
                "licence": "Apache-2.0 (upstream YOLOX)",
            }
        )
    )
    return manifest


class Tally:
    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        """key -> [truth found, truth total, detections true, detections counted]."""
        self.same_class = 0
        self.millis: list[float] = []

    def add(self, keys: list[str], found: int, total: int, true: int, counted: int) -> None:
        for key in keys:
            row = self.counts[key]
            row[0] += found
            row[1] += total
            row[2] += true
            row[3] += counted

    def figures(self, key: str) -> dict[str, float | int]:
        found, total, true, counted = self.counts[key]
        return {
            "recall": round(found / total, 3) if total else float("nan"),
            "precision": round(true / counted, 3) if counted else float("nan"),
            "truth": total,
            "detections": counted,
        }


def score(
    detector: Detector,
    tally: Tally,
    image: npt.NDArray[np.uint8],
    truth: Sequence[tuple[str, tuple[int, int, int, int]]],
    view: str,
    lighting: str,
    min_height: int,
) -> None:
    start = time.perf_counter()
    detections = detector.detect(image)
    tally.millis.append((time.perf_counter() - start) * 1000)
    boxes = np.array([b for _, b in truth], np.float32).reshape(-1, 4)
    heights = boxes[:, 3] - boxes[:, 1]
    counted = heights >= min_height
    found = np.asarray(detections.xyxy, np.float32).reshape(-1, 4)
    hit, owner = match(boxes, found)
    # Detections on don't-care (too small) boxes are neither true nor false.
    kept = np.array([o < 0 or counted[o] for o in owner], bool)
    true = int(((owner >= 0) & kept).sum())
    names = [detector.classes[int(c)] for c in np.asarray(detections.class_id)]
    for d, t in enumerate(owner):
        if t >= 0 and counted[t] and names[d] == truth[t][0]:
            tally.same_class += 1
    keys = ["all", f"view={view}", f"lighting={lighting}"]
    tally.add(keys, int((hit & counted).sum()), int(counted.sum()), true, int(kept.sum()))
    for band in ("small", "medium", "large"):
        in_band = counted & np.array([size_band(h) == band for h in heights], bool)
        # Precision by size is not defined for misses; recall only.
        tally.add([f"size={band}"], int((hit & in_band).sum()), int(in_band.sum()), 0, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=1, help="cities per view and lighting")
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--every", type=int, default=15)
    parser.add_argument("--min-height", type=int, default=24)
    parser.add_argument("--models-dir", type=Path, default=ROOT.parent / "shared" / "models")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        detectors = {
            SIM_VEHICLES: load_detector(BUNDLED_MODELS_DIR / f"{SIM_VEHICLES}.yaml"),
            "yolox-nano": load_detector(yolox_nano(args.models_dir, Path(folder))),
        }
    tallies = {name: Tally() for name in detectors}
    frames = 0
    seed = BENCH_SEED_BASE
    for view in ("overview", "anpr"):
        for lighting in ("day", "dusk", "night"):
            for _ in range(args.cities):
                options = city_options(
                    seed,
                    args.duration,
                    cameras=args.cameras,
                    lighting=lighting,
                    view=view,
                )
                seed += 1
                city = build_city(options)
                for site in city.cameras:
                    renderer = CameraRenderer(city, site)
                    for index in range(args.every // 2, city.frame_count, args.every):
                        image, views = renderer.render(index)
                        truth = [(b.vehicle_class, b.xyxy) for b in vehicle_boxes(views)]
                        frames += 1
                        for name, detector in detectors.items():
                            score(
                                detector,
                                tallies[name],
                                image,
                                truth,
                                view,
                                lighting,
                                args.min_height,
                            )
    keys = ["all"] + [f"view={v}" for v in ("overview", "anpr")]
    keys += [f"lighting={x}" for x in ("day", "dusk", "night")]
    keys += [f"size={s}" for s in ("small", "medium", "large")]
    report: dict[str, object] = {
        "frames": frames,
        "seeds": f"{BENCH_SEED_BASE}-{seed - 1}",
        "min_height_px": args.min_height,
    }
    for name, tally in tallies.items():
        true = tally.counts["all"][2]
        report[name] = {
            "ms_per_detect_median": round(statistics.median(tally.millis), 2),
            "class_right_of_matched": round(tally.same_class / true, 3) if true else None,
            **{key: tally.figures(key) for key in keys},
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
