"""Frames the simulator renders, letterboxed to the vehicle detector's input, with their boxes.

The boxes come from the simulator's own geometry: every ``ObjectView`` of a rendered
frame carries the bounding box of the vehicle's projected polygons, so each frame has
exact per-frame boxes (ground_truth.json only samples five per appearance).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from safecity.sim.boxes import vehicle_boxes
from safecity.sim.city import build_city
from safecity.sim.frame import CameraRenderer
from safecity.sim.render import city_options
from safecity.sim.truth import CameraView, Lighting, VehicleClass
from safecity.vision.detectors.letterbox import letterbox

CLASSES: tuple[VehicleClass, ...] = ("car", "van", "bus", "truck", "rickshaw", "motorcycle")
INPUT_WIDTH, INPUT_HEIGHT = 384, 224
VIEWS: tuple[CameraView, ...] = ("overview", "anpr")
LIGHTINGS: tuple[Lighting, ...] = ("day", "dusk", "night")
SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (640, 360))
"""Full HD-ish renders as the benchmarks use, and the demo's 640x360 clips."""
TRAIN_SEED_BASE = 920_000
"""City i of the training data (one per view, lighting and frame size) is this plus i."""


def training_cities() -> list[tuple[int, CameraView, Lighting, tuple[int, int]]]:
    """(seed, view, lighting, frame size) of every city the training data is rendered from."""
    combos = itertools.product(VIEWS, LIGHTINGS, SIZES)
    return [
        (TRAIN_SEED_BASE + i, view, light, size) for i, (view, light, size) in enumerate(combos)
    ]


@dataclass(frozen=True)
class FrameTruth:
    """One rendered frame (BGR, full size) and its vehicles: xyxy pixels and class index."""

    image: npt.NDArray[np.uint8]
    boxes: npt.NDArray[np.float32]
    classes: npt.NDArray[np.int64]
    view: CameraView
    lighting: Lighting


def rendered_frames(
    seed: int,
    view: CameraView,
    lighting: Lighting,
    size: tuple[int, int],
    *,
    cameras: int,
    duration_s: float,
    every: int,
) -> Iterator[FrameTruth]:
    """Every ``every``-th frame of each camera of the city ``seed`` renders."""
    width, height = size
    options = city_options(
        seed,
        duration_s,
        cameras=cameras,
        width=width,
        height=height,
        lighting=lighting,
        view=view,
        vehicles_per_minute=90.0,
    )
    city = build_city(options)
    for site in city.cameras:
        renderer = CameraRenderer(city, site)
        for index in range(every // 2, city.frame_count, every):
            image, views = renderer.render(index)
            shown = vehicle_boxes(views)
            boxes = [box.xyxy for box in shown]
            classes = [CLASSES.index(box.vehicle_class) for box in shown]
            yield FrameTruth(
                image=image,
                boxes=np.array(boxes, np.float32).reshape(-1, 4),
                classes=np.array(classes, np.int64),
                view=view,
                lighting=lighting,
            )


def to_input(
    image_bgr: npt.NDArray[np.uint8], boxes: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """The frame as the backend feeds it (centred letterbox, RGB) and boxes in input pixels."""
    canvas, placement = letterbox(image_bgr, INPUT_WIDTH, INPUT_HEIGHT, centred=True)
    pads = np.array([placement.pad_x, placement.pad_y] * 2, np.float32)
    rgb = np.ascontiguousarray(canvas[:, :, ::-1])
    return rgb, (boxes * placement.scale + pads).astype(np.float32)


def compress(image_bgr: npt.NDArray[np.uint8], quality: int) -> npt.NDArray[np.uint8]:
    """JPEG round trip: the blocky loss of the H.264 streams the workers decode."""
    ok, data = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return np.asarray(decoded, np.uint8)
