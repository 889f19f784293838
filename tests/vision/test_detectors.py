"""Detector backends: real models on real photos, each YOLO output layout on built tensors,
and every way a model can be wrong (missing, corrupt, mis-described) failing clearly."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from safecity.vision.detectors import DetectorUnavailable, ModelError, load_detector
from safecity.vision.detectors.layouts import (
    decode_yolov5,
    decode_yolov8,
    decode_yolox,
    yolox_grid,
)
from safecity.vision.detectors.letterbox import letterbox
from safecity.vision.detectors.manifest import ModelManifest
from safecity.vision.detectors.onnx_yolo import OnnxYoloDetector

COCO = tuple(f"class{i}" for i in range(80))


def _coco(shared: Path) -> list[str]:
    lines = (shared / "models/yolo-fastest/coco.names").read_text().splitlines()
    return [line.strip() for line in lines if line.strip()]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(folder: Path, name: str, body: dict[str, Any]) -> Path:
    path = folder / f"{name}.yaml"
    # JSON is YAML: no quoting surprises in class names.
    path.write_text(json.dumps(body))
    return path


def yolox_manifest(shared: Path, folder: Path, **changes: Any) -> Path:
    model = shared / "models/yolox-nano/yolox_nano.onnx"
    body = {
        "backend": "onnx_yolo",
        "file": str(model),
        "sha256": _sha(model),
        "input_width": 416,
        "input_height": 416,
        "layout": "yolox",
        "classes": _coco(shared),
        "licence": "Apache-2.0 (upstream YOLOX)",
        **changes,
    }
    return _write_manifest(folder, "yolox", body)


def darknet_manifest(shared: Path, folder: Path, **changes: Any) -> Path:
    weights = shared / "models/yolo-fastest/yolo-fastest-1.1-xl.weights"
    config = shared / "models/yolo-fastest/yolo-fastest-1.1-xl.cfg"
    body = {
        "backend": "darknet",
        "file": str(weights),
        "config_file": str(config),
        "sha256": _sha(weights),
        "config_sha256": _sha(config),
        "input_width": 320,
        "input_height": 320,
        "classes": _coco(shared),
        "licence": "YOLO licence (public domain)",
        **changes,
    }
    return _write_manifest(folder, "darknet", body)


# -- real models on real photos -----------------------------------------------------------------


@pytest.mark.parametrize("build", [yolox_manifest, darknet_manifest])
def test_real_models_find_the_car_and_people_in_a_street_photo(
    shared_dir: Path, tmp_path: Path, build: Any
) -> None:
    detector = load_detector(build(shared_dir, tmp_path))
    image = np.asarray(cv2.imread(str(shared_dir / "data/street/hpc203_street.png")), np.uint8)
    assert image.ndim == 3
    found = detector.detect(image)
    names = [detector.classes[c] for c in found.class_id]
    assert names.count("person") >= 4
    assert "car" in names
    # The big car at the left of the photo (about x 110-440, y 467-620) is found there.
    cars = found[np.array([n == "car" for n in names])]
    best = cars.xyxy[int(np.argmax(cars.confidence))]
    assert best[0] == pytest.approx(111, abs=25)
    assert best[2] == pytest.approx(441, abs=25)
    assert float(cars.confidence.max()) > 0.8
    assert found.xyxy[:, 2].max() <= image.shape[1]
    assert found.xyxy[:, 3].max() <= image.shape[0]


def test_keep_classes_filters_the_output(shared_dir: Path, tmp_path: Path) -> None:
    detector = load_detector(yolox_manifest(shared_dir, tmp_path, keep_classes=["car"]))
    image = np.asarray(cv2.imread(str(shared_dir / "data/street/hpc203_street.png")), np.uint8)
    assert image.ndim == 3
    found = detector.detect(image)
    assert len(found) > 0
    assert {detector.classes[c] for c in found.class_id} == {"car"}


# -- bad models ---------------------------------------------------------------------------------


def test_a_corrupt_model_file_fails_its_checksum(shared_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    data = bytearray((shared_dir / "models/yolox-nano/yolox_nano.onnx").read_bytes())
    data[5000] ^= 0xFF
    model.write_bytes(bytes(data))
    manifest = yolox_manifest(shared_dir, tmp_path, file=str(model))
    with pytest.raises(ModelError, match="corrupt or replaced"):
        load_detector(manifest)


def test_a_garbage_file_with_a_matching_checksum_is_refused_by_the_runtime(
    shared_dir: Path, tmp_path: Path
) -> None:
    model = tmp_path / "garbage.onnx"
    model.write_bytes(b"not a model at all" * 100)
    manifest = yolox_manifest(shared_dir, tmp_path, file=str(model), sha256=_sha(model))
    with pytest.raises(ModelError, match="ONNX Runtime cannot load"):
        load_detector(manifest)


def test_a_missing_model_file(shared_dir: Path, tmp_path: Path) -> None:
    manifest = yolox_manifest(shared_dir, tmp_path, file=str(tmp_path / "gone.onnx"))
    with pytest.raises(ModelError, match="does not exist"):
        load_detector(manifest)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"classes": ["person", "car"]}, "the manifest's 2 classes need 7"),
        ({"input_width": 320, "input_height": 320}, "does not match the manifest's 320x320"),
        ({"layout": "yolov8"}, "yolov8 output has"),
        ({"layout": None}, "needs 'layout'"),
        ({"keep_classes": ["dragon"]}, "lacks"),
        ({"colour": "red"}, "colour"),
        ({"sha256": "abc"}, "sha256"),
    ],
)
def test_a_manifest_that_does_not_match_its_model(
    shared_dir: Path, tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        load_detector(yolox_manifest(shared_dir, tmp_path, **changes))


def test_darknet_class_count_mismatch(shared_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="classes need 8"):
        load_detector(darknet_manifest(shared_dir, tmp_path, classes=["a", "b", "c"]))


def test_a_changed_darknet_config_fails_its_checksum(shared_dir: Path, tmp_path: Path) -> None:
    """A .cfg with one layer's setting changed still loads into OpenCV, as another
    network: only its checksum tells."""
    original = shared_dir / "models/yolo-fastest/yolo-fastest-1.1-xl.cfg"
    text = original.read_text()
    assert "ignore_thresh = .5" in text
    changed = tmp_path / "changed.cfg"
    changed.write_text(text.replace("ignore_thresh = .5", "ignore_thresh = .7", 1))
    manifest = darknet_manifest(shared_dir, tmp_path, config_file=str(changed))
    with pytest.raises(ModelError, match=r"model config file .*changed.cfg .*corrupt or replaced"):
        load_detector(manifest)
    missing = darknet_manifest(shared_dir, tmp_path, config_file=str(tmp_path / "gone.cfg"))
    with pytest.raises(ModelError, match=r"model config file .*gone.cfg does not exist"):
        load_detector(missing)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"config_sha256": None}, "needs 'config_sha256'"),
        ({"config_file": None}, "needs 'config_file'"),
        ({"backend": "onnx_yolo", "layout": "yolox", "config_file": None}, "without 'config_f"),
        ({"config_sha256": "abc"}, "config_sha256"),
    ],
)
def test_a_darknet_config_needs_its_checksum(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    """Checked from the manifest alone, before any model file is read."""
    body = {
        "backend": "darknet",
        "file": "net.weights",
        "config_file": "net.cfg",
        "sha256": "0" * 64,
        "config_sha256": "1" * 64,
        "input_width": 320,
        "input_height": 320,
        "classes": ["car"],
        "licence": "test",
        **changes,
    }
    with pytest.raises(ModelError, match=message):
        load_detector(_write_manifest(tmp_path, "net", body))


def test_an_unreadable_manifest_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("backend: onnx_yolo\ninput_width: wide\n")
    with pytest.raises(ModelError, match=r"broken.yaml:2"):
        load_detector(path)


def test_a_missing_runtime_is_reported_not_crashed(
    shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(DetectorUnavailable, match="onnxruntime"):
        load_detector(yolox_manifest(shared_dir, tmp_path))


# -- layouts on constructed tensors --------------------------------------------------------------


def test_yolov5_rows_decode_with_objectness() -> None:
    rows = np.zeros((1, 2, 5 + 3), np.float32)
    rows[0, 0, :5] = [100, 50, 20, 10, 0.5]
    rows[0, 0, 5:] = [0.1, 0.8, 0.1]
    rows[0, 1, :5] = [10, 10, 4, 4, 1.0]
    rows[0, 1, 5:] = [0.9, 0.0, 0.0]
    xyxy, score, cls = decode_yolov5(rows, 3)
    assert xyxy[0].tolist() == [90, 45, 110, 55]
    assert score.tolist() == pytest.approx([0.4, 0.9])
    assert cls.tolist() == [1, 0]
    with pytest.raises(ModelError, match="need 9"):
        decode_yolov5(rows, 4)


def test_yolov8_columns_decode_without_objectness() -> None:
    columns = np.zeros((1, 4 + 2, 3), np.float32)
    columns[0, :, 0] = [200, 100, 40, 20, 0.2, 0.7]
    columns[0, :, 1] = [5, 5, 2, 2, 0.6, 0.1]
    xyxy, score, cls = decode_yolov8(columns, 2)
    assert xyxy[0].tolist() == [180, 90, 220, 110]
    assert score[:2].tolist() == pytest.approx([0.7, 0.6])
    assert cls[:2].tolist() == [1, 0]
    with pytest.raises(ModelError, match=r"shape \(1, 4 \+ C, N\)"):
        decode_yolov8(columns.transpose(0, 2, 1), 2)


def test_yolox_grid_outputs_decode_by_stride() -> None:
    width = height = 64
    cells, _ = yolox_grid(width, height)
    assert len(cells) == 8 * 8 + 4 * 4 + 2 * 2
    raw = np.zeros((1, len(cells), 5 + 2), np.float32)
    # Anchor 9 is cell (1, 1) at stride 8; offset (0.5, 0.5), size exp(0) * 8.
    raw[0, 9, :5] = [0.5, 0.5, 0.0, 0.0, 0.9]
    raw[0, 9, 5:] = [0.0, 1.0]
    xyxy, score, cls = decode_yolox(raw, 2, width, height)
    assert xyxy[9].tolist() == [8, 8, 16, 16]
    assert float(score[9]) == pytest.approx(0.9)
    assert int(cls[9]) == 1
    with pytest.raises(ModelError, match="a 32x32 input gives"):
        decode_yolox(raw, 2, 32, 32)


class _FixedSession:
    """Stands in for an ONNX Runtime session of a model we have no file for: it returns
    a constructed tensor, so the detector's letterboxing, decoding and NMS run for real."""

    def __init__(self, width: int, height: int, output: npt.NDArray[np.float32]) -> None:
        self._shape = [1, 3, height, width]
        self._output = output

    def get_inputs(self) -> list[Any]:
        return [type("Input", (), {"name": "images", "shape": self._shape})()]

    def get_outputs(self) -> list[Any]:
        return [type("Output", (), {"name": "out"})()]

    def run(self, _names: Any, feeds: dict[str, Any]) -> list[npt.NDArray[np.float32]]:
        assert feeds["images"].shape == tuple(self._shape)
        return [self._output]


def _manifest(layout: str, classes: int = 2) -> ModelManifest:
    return ModelManifest(
        backend="onnx_yolo",
        file=Path("none.onnx"),
        sha256="0" * 64,
        input_width=320,
        input_height=320,
        classes=COCO[:classes],
        layout=layout,
        licence="test",
    )


def test_a_yolov8_model_maps_boxes_back_through_the_letterbox_and_merges_overlaps() -> None:
    # A 640x320 frame in a 320x320 input: scale 0.5, 80 px of padding above and below.
    columns = np.zeros((1, 6, 3), np.float32)
    columns[0, :, 0] = [160, 160, 40, 20, 0.9, 0.0]  # centre of the frame
    columns[0, :, 1] = [161, 160, 40, 20, 0.8, 0.0]  # a duplicate: NMS removes it
    columns[0, :, 2] = [161, 160, 40, 20, 0.0, 0.7]  # same place, other class: kept
    detector = OnnxYoloDetector(_manifest("yolov8"), _FixedSession(320, 320, columns))
    found = detector.detect(np.zeros((320, 640, 3), np.uint8))
    assert len(found) == 2
    assert found.class_id.tolist() == [0, 1]
    assert found.xyxy[0].tolist() == pytest.approx([280, 140, 360, 180])


def test_a_yolov5_model_end_to_end_on_a_constructed_tensor() -> None:
    rows = np.zeros((1, 1, 7), np.float32)
    rows[0, 0] = [100, 200, 50, 50, 0.9, 0.9, 0.1]
    detector = OnnxYoloDetector(_manifest("yolov5"), _FixedSession(320, 320, rows))
    found = detector.detect(np.zeros((320, 320, 3), np.uint8))
    assert found.xyxy.tolist() == [[75, 175, 125, 225]]
    assert found.confidence.tolist() == pytest.approx([0.81])


def test_letterbox_round_trip() -> None:
    image = np.zeros((360, 640, 3), np.uint8)
    canvas, placement = letterbox(image, 416, 416)
    assert canvas.shape == (416, 416, 3)
    assert placement.pad_y == pytest.approx((416 - 234) // 2)
    box = np.array([[0, placement.pad_y, 416, 416 - placement.pad_y]], np.float32)
    assert placement.to_frame(box, 640, 360)[0].tolist() == pytest.approx([0, 0, 640, 360], abs=2)
    _, corner = letterbox(image, 416, 416, centred=False)
    assert (corner.pad_x, corner.pad_y) == (0, 0)


def test_frames_of_the_wrong_kind_are_refused_clearly() -> None:
    blank = np.zeros((1, 1, 7), np.float32)
    detector = OnnxYoloDetector(_manifest("yolov5"), _FixedSession(320, 320, blank))
    with pytest.raises(ValueError, match="BGR uint8"):
        detector.detect(np.zeros((100, 100), np.uint8))


class _RecordingSession(_FixedSession):
    """A fixed session that keeps the input it was given."""

    def __init__(self, width: int, height: int, output: npt.NDArray[np.float32]) -> None:
        super().__init__(width, height, output)
        self.fed: list[npt.NDArray[np.float32]] = []

    def run(self, names: Any, feeds: dict[str, Any]) -> list[npt.NDArray[np.float32]]:
        self.fed.append(feeds["images"])
        return super().run(names, feeds)


@pytest.mark.parametrize(
    ("layout", "channels", "scale"), [("yolov8", [2, 1, 0], 1 / 255), ("yolox", [0, 1, 2], 1.0)]
)
def test_the_network_input_is_the_letterboxed_frame_in_the_layouts_channel_order(
    layout: str, channels: list[int], scale: float
) -> None:
    # Ultralytics models take RGB scaled to 0-1; YOLOX takes BGR 0-255, padded bottom-right.
    image = np.random.default_rng(5).integers(0, 256, (160, 320, 3), dtype=np.uint8)
    session = _RecordingSession(320, 320, np.zeros((1, 6, 1), np.float32))
    if layout == "yolox":
        session = _RecordingSession(320, 320, np.zeros((1, 2100, 7), np.float32))
    detector = OnnxYoloDetector(_manifest(layout), session)
    detector.detect(image)
    (fed,) = session.fed
    canvas, _ = letterbox(image, 320, 320, centred=layout != "yolox")
    expected = canvas[:, :, channels].transpose(2, 0, 1)[None].astype(np.float32) * np.float32(
        scale
    )
    assert fed.dtype == np.float32
    assert fed.flags.c_contiguous
    np.testing.assert_allclose(fed, expected, rtol=1e-6)


def test_one_box_per_object_keeps_the_surest_of_a_vehicle_found_as_two_classes() -> None:
    from safecity.vision.detections import Detections
    from safecity.vision.detectors.base import one_box_per_object

    found = Detections.create(
        np.array(
            [
                [100, 100, 300, 260],  # a car ...
                [104, 110, 296, 262],  # ... found again as a truck, less sure
                [320, 100, 520, 260],  # another car beside it
                [140, 40, 260, 240],  # a rider over the car's box: not a vehicle class
            ],
            np.float32,
        ),
        np.array([0.8, 0.6, 0.7, 0.9], np.float32),
        np.array([0, 1, 0, 2], np.int32),
    )
    vehicles = np.array([True, True, True, False])
    kept = one_box_per_object(found, vehicles, iou_threshold=0.6)
    assert kept.xyxy.tolist() == [
        [100, 100, 300, 260],
        [320, 100, 520, 260],
        [140, 40, 260, 240],
    ]
    assert kept.class_id.tolist() == [0, 0, 2]
    # Looser boxes of one class are the detector's own NMS's business: kept as they are.
    assert len(one_box_per_object(found, np.zeros(4, bool), iou_threshold=0.6)) == 4
    with pytest.raises(ValueError, match="3 flags for 4 detections"):
        one_box_per_object(found, vehicles[:3], iou_threshold=0.6)
