"""Simulator renders for the plate benchmarks (a helper module).

``anpr_accuracy``, ``anpr_pipeline``, ``plate_crops`` and ``plate_locator`` measure on
fresh renders of the synthetic city, made the same way: two cameras at 10 fps (H.264,
as the demo's clips) in a temporary folder that goes when the measurement is done,
the ground truth as the renderer returns it, and the frames a benchmark needs decoded
with OpenCV, in order.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from safecity.sim.render import render_city
from safecity.sim.truth import (
    Appearance,
    CameraTruth,
    CameraView,
    GroundTruth,
    PlateSample,
    VehicleTruth,
)

CAMERAS = 2
FPS = 10


@dataclass(frozen=True)
class Render:
    """One render: its folder (a video a camera) and its ground truth."""

    folder: Path
    truth: GroundTruth

    def video(self, camera: CameraTruth) -> Path:
        return self.folder / camera.file


@contextmanager
def rendered(
    seed: int, seconds: float, view: CameraView, *, cameras: int = CAMERAS, fps: int = FPS
) -> Iterator[Render]:
    """A fresh render of ``seed`` in a temporary folder, deleted when the block ends."""
    with tempfile.TemporaryDirectory() as folder:
        truth = render_city(seed, seconds, Path(folder), cameras=cameras, fps=fps, view=view)
        yield Render(Path(folder), truth)


def camera_visits(truth: GroundTruth, camera_id: str) -> list[tuple[VehicleTruth, Appearance]]:
    """Every appearance of a vehicle on the camera, vehicles in the ground truth's order."""
    return [
        (vehicle, appearance)
        for vehicle in truth.vehicles
        for appearance in vehicle.appearances
        if appearance.camera_id == camera_id
    ]


def whole_plate_samples(
    truth: GroundTruth, camera_id: str
) -> list[tuple[VehicleTruth, Appearance, PlateSample]]:
    """The camera's plate samples whose whole plate is in the frame and nothing nearer
    overlaps it, with their vehicle and appearance."""
    return [
        (vehicle, appearance, sample)
        for vehicle, appearance in camera_visits(truth, camera_id)
        for sample in appearance.samples
        if sample.plate_box is not None and not sample.plate_occluded
    ]


def smear(appearance: Appearance) -> float | None:
    """How far motion blur smears the vehicle's plate, in plate heights, on the middle
    whole-plate sample (the one ``plate_height_px`` is measured on); None without one.

    A character's strokes are about a tenth of its plate's height: a smear past that
    washes them out, and past about a fifth the characters run into each other."""
    samples = [s for s in appearance.samples if s.plate_box is not None and s.plate_height_px]
    if not samples:
        return None
    middle = samples[len(samples) // 2]
    if middle.smear_px is None:
        return None  # a render from before the truth recorded it
    return middle.smear_px / float(middle.plate_height_px or 1.0)


def video_frames(video: Path) -> Iterator[tuple[int, np.ndarray]]:
    """Every frame of ``video`` in order, with its 0-based index."""
    capture = cv2.VideoCapture(str(video))
    try:
        index = 0
        ok, frame = capture.read()
        while ok:
            yield index, frame
            index += 1
            ok, frame = capture.read()
    finally:
        capture.release()


def decode_frames(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """The frames of ``video`` whose indices are ``wanted``; decoding stops after the last."""
    frames: dict[int, np.ndarray] = {}
    if not wanted:
        return frames
    for index, frame in video_frames(video):
        if index in wanted:
            frames[index] = frame
            if len(frames) == len(wanted):
                break
    return frames
