"""The reader's cost bounds, its sharing between threads, and its model files."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.sim.plate_render import draw_plate
from safecity.sim.plates import generate_plate
from safecity.vision.plates import (
    EngineUnavailable,
    FormatRule,
    FormatRules,
    GenericShape,
    LineRead,
    PlateReader,
    TextEngine,
)
from safecity.vision.plates.ocr import Image, shipped_model_dir
from tests.vision.plates.sim_plates import scaled_plate


class CountingEngine(TextEngine):
    """The real engine, counting the line images it is asked to recognise."""

    def __init__(self) -> None:
        super().__init__(threads=1)
        self.lines = 0
        self.detections: list[tuple[int, int]] = []

    def detect(self, image: Image, scale: float = 1.0) -> list:  # type: ignore[type-arg]
        self.detections.append((round(image.shape[1] * scale), round(image.shape[0] * scale)))
        return super().detect(image, scale)

    def recognise(self, lines: list[Image]) -> list[LineRead]:
        self.lines += len(lines)
        return super().recognise(lines)


def _vehicle(
    seed: int, plate_height: int = 40
) -> tuple[np.ndarray, str, tuple[int, int, int, int]]:
    """A 720p frame with one 'vehicle' (a noisy box) carrying a one-line plate."""
    design = generate_plate(np.random.default_rng(seed), "car")
    while design.layout != "one_line":
        seed += 1000
        design = generate_plate(np.random.default_rng(seed), "car")
    small = scaled_plate(design, plate_height)
    rng = np.random.default_rng(seed)
    frame = rng.normal(120, 8, size=(720, 1280, 3)).clip(0, 255).astype(np.uint8)
    vx, vy, vw, vh = 400, 200, 420, 380
    frame[vy : vy + vh, vx : vx + vw] = rng.normal(70, 6, size=(vh, vw, 3)).clip(0, 255)
    px, py = vx + (vw - small.shape[1]) // 2, vy + vh - plate_height - 40
    frame[py : py + plate_height, px : px + small.shape[1]] = small
    return frame, design.registration, (vx, vy, vw, vh)


def test_a_vehicle_region_is_read_with_bounded_work() -> None:
    engine = CountingEngine()
    reader = PlateReader(engine=engine)
    frame, registration, region = _vehicle(11)
    reads = reader.read(frame, region=region)
    assert reads
    assert reads[0].text == registration
    # One detector pass over the region scaled to about region_side, not the whole frame
    # and not enlarged; a confident read that fits a format ends the search.
    assert len(engine.detections) == 1
    assert max(engine.detections[0]) <= reader.region_side
    assert engine.lines <= 3


def test_max_line_reads_caps_the_recogniser() -> None:
    engine = CountingEngine()
    reader = PlateReader(engine=engine, max_line_reads=2, proposals=0)
    # Many text lines: several plates stacked in one image.
    rows = []
    for seed in range(6):
        design = generate_plate(np.random.default_rng(40 + seed), "car")
        plate = cv2.resize(draw_plate(design), (200, 50))
        rows.append(plate)
    image = np.vstack(rows)
    reader.read(image)
    assert engine.lines == 2
    # Rules nothing here fits: no read settles the vehicle, so only the cap stops it.
    never = FormatRules(
        rules=(FormatRule(name="eight-digits", pattern="D{8}"),),
        generic=GenericShape(enabled=False),
    )
    engine.lines = 0
    regional = PlateReader(never, engine=engine, max_region_line_reads=3, proposals=0)
    assert regional.read(image, region=(0, 0, 200, 300)) == []
    assert engine.lines == 3


def test_one_reader_shared_by_threads_reads_as_it_does_alone() -> None:
    reader = PlateReader()
    frames = [_vehicle(seed) for seed in (21, 22, 23, 24)]
    alone = [reader.read(frame, region=region) for frame, _, region in frames]
    with ThreadPoolExecutor(max_workers=4) as pool:
        shared = list(pool.map(lambda item: reader.read(item[0], region=item[2]), frames * 3))
    assert shared == alone * 3
    assert [reads[0].text if reads else None for reads in alone] == [
        registration for _, registration, _ in frames
    ]


def test_threads_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="threads"):
        TextEngine(threads=-1)


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    engine = TextEngine(model_dir=tmp_path)
    with pytest.raises(EngineUnavailable, match="missing"):
        engine.detect(np.zeros((64, 64, 3), np.uint8))


def test_a_corrupt_model_file_is_a_clear_error(tmp_path: Path) -> None:
    shipped = shipped_model_dir()
    for model in shipped.glob("ch_PP-OCRv4_*.onnx"):
        shutil.copy(model, tmp_path / model.name)
    (tmp_path / "ch_PP-OCRv4_det_infer.onnx").write_bytes(b"not an onnx model")
    reader = PlateReader(engine=TextEngine(model_dir=tmp_path))
    with pytest.raises(EngineUnavailable, match="cannot be loaded"):
        reader.read(np.zeros((64, 64, 3), np.uint8))


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_line_reads"):
        PlateReader(max_line_reads=0)
    with pytest.raises(ValueError, match="region_side"):
        PlateReader(region_side=8)
