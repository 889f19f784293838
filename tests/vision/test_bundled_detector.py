"""The bundled sim-vehicles detector: its manifest and file, and that it finds the
simulator's vehicles on renders it never saw in training (seeds 930000+; training used
920000-920011, bench/sim_detector.py uses 940000+)."""

from __future__ import annotations

import numpy as np
import pytest

from safecity.analytics.pipeline import VEHICLE_CLASSES
from safecity.sim.boxes import vehicle_boxes
from safecity.sim.city import build_city
from safecity.sim.frame import CameraRenderer
from safecity.sim.render import city_options
from safecity.sim.truth import CameraView, Lighting
from safecity.vision.detectors import Detector, load_detector, load_manifest, verify_model_file
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR, SIM_VEHICLES

MANIFEST = BUNDLED_MODELS_DIR / f"{SIM_VEHICLES}.yaml"
MIN_HEIGHT = 24
"""Truth boxes shorter than this (in the 1280x720 frame) are don't-care: far away, ~7 px
tall in the model's input."""
IOU_MATCH = 0.5
# Measured at commit time: recall 0.85-0.96, precision 0.79-0.93 over the four renders.
RECALL_FLOOR = 0.75
PRECISION_FLOOR = 0.7


@pytest.fixture(scope="module")
def detector() -> Detector:
    return load_detector(MANIFEST)


def test_the_manifest_loads_and_its_file_matches_its_checksum() -> None:
    manifest, base = load_manifest(MANIFEST)
    path = verify_model_file(manifest, base)
    assert path.stat().st_size < 2_000_000, "the bundled model should stay small"
    assert manifest.classes == ("car", "van", "bus", "truck", "rickshaw", "motorcycle")
    assert manifest.layout == "yolov8"
    # Every class it reports reaches the plate stage.
    assert set(manifest.classes) <= VEHICLE_CLASSES
    assert (BUNDLED_MODELS_DIR / "MODEL_CARD.md").is_file()


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return float(overlap / union)


@pytest.mark.parametrize(
    ("seed", "view", "lighting"),
    [
        (930_000, "overview", "day"),
        (930_001, "overview", "night"),
        (930_002, "anpr", "dusk"),
        (930_003, "anpr", "night"),
    ],
)
def test_it_finds_the_simulators_vehicles_on_unseen_renders(
    detector: Detector, seed: int, view: CameraView, lighting: Lighting
) -> None:
    city = build_city(city_options(seed, 30, cameras=1, lighting=lighting, view=view))
    renderer = CameraRenderer(city, city.cameras[0])
    found = total = true = counted = 0
    for index in range(20, city.frame_count, 45):
        image, views = renderer.render(index)
        truth = [np.array(b.xyxy, float) for b in vehicle_boxes(views)]
        wanted = [(box[3] - box[1]) >= MIN_HEIGHT for box in truth]
        detections = detector.detect(image)
        claimed = [False] * len(truth)
        for box in np.asarray(detections.xyxy, float):
            overlaps = [0.0 if claimed[t] else _iou(box, truth[t]) for t in range(len(truth))]
            best = int(np.argmax(overlaps)) if overlaps else -1
            if best >= 0 and overlaps[best] >= IOU_MATCH:
                claimed[best] = True
                if not wanted[best]:
                    continue  # a don't-care box: neither true nor false
                true += 1
            counted += 1
        found += sum(c and w for c, w in zip(claimed, wanted, strict=True))
        total += sum(wanted)
    assert total >= 8, "the render should show enough vehicles to judge"
    recall, precision = found / total, true / max(counted, 1)
    assert recall >= RECALL_FLOOR, (recall, found, total)
    assert precision >= PRECISION_FLOOR, (precision, true, counted)
