"""YOLO-family ONNX models (YOLOv5, YOLOv8/v11, YOLOX) on ONNX Runtime, CPU only."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safecity.vision.detections import Detections
from safecity.vision.detectors.base import (
    Detector,
    DetectorUnavailable,
    ModelError,
    check_image,
    class_filter,
    non_max_suppression,
)
from safecity.vision.detectors.layouts import Decoded, decode_yolov5, decode_yolov8, decode_yolox
from safecity.vision.detectors.letterbox import letterbox
from safecity.vision.detectors.manifest import ModelManifest
from safecity.vision.onnx_runtime import cpu_session_options

logger = logging.getLogger(__name__)


def decode(
    layout: str, output: npt.NDArray[np.float32], classes: int, width: int, height: int
) -> Decoded:
    if layout == "yolov5":
        return decode_yolov5(output, classes)
    if layout == "yolov8":
        return decode_yolov8(output, classes)
    if layout == "yolox":
        return decode_yolox(output, classes, width, height)
    raise ModelError(f"unknown YOLO output layout {layout!r}")


class OnnxYoloDetector:
    """One ONNX Runtime session; ``detect`` is not thread-safe across frames of many cameras."""

    def __init__(self, manifest: ModelManifest, session: Any, *, threads: int = 1) -> None:
        self._manifest = manifest
        self._session = session
        self._input_name = str(session.get_inputs()[0].name)
        self._layout = manifest.layout or ""
        self._keep = class_filter(manifest)
        self._threads = threads

    @classmethod
    def from_manifest(cls, manifest: ModelManifest, base: Path, *, threads: int = 1) -> Detector:
        try:
            import onnxruntime
        except ImportError as exc:
            raise DetectorUnavailable(
                "onnx_yolo needs onnxruntime, which is not installed"
            ) from exc
        path = manifest.file if manifest.file.is_absolute() else base / manifest.file
        # One analysed frame at a time per worker: more threads only fight the other workers.
        options = cpu_session_options(onnxruntime, threads)
        try:
            session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelError(f"ONNX Runtime cannot load {path}: {exc}") from exc
        detector = cls(manifest, session, threads=threads)
        detector._check_signature()
        return detector

    @property
    def name(self) -> str:
        return f"onnx_yolo:{self._layout}:{self._manifest.file.name}"

    @property
    def classes(self) -> tuple[str, ...]:
        return self._manifest.classes

    def _check_signature(self) -> None:
        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise ModelError(
                f"expected one input and an output, the model has {len(inputs)} and {len(outputs)}"
            )
        shape = list(inputs[0].shape)
        expected = [self._manifest.input_height, self._manifest.input_width]
        fixed = [dim for dim in shape[2:] if isinstance(dim, int)]
        if len(shape) != 4 or (len(fixed) == 2 and fixed != expected):
            raise ModelError(
                f"model input shape {shape} does not match the manifest's "
                f"{self._manifest.input_width}x{self._manifest.input_height} (N, 3, H, W)"
            )
        # Run once on a blank input so an output/class mismatch fails at load, not on a camera.
        blank = np.zeros((expected[0], expected[1], 3), dtype=np.uint8)
        self.detect(blank)

    def _blob(self, canvas: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The network's NCHW input, each channel plane written straight into it (a reversed,
        transposed float copy made contiguous afterwards cost five times as much)."""
        blob = np.empty((1, 3, *canvas.shape[:2]), dtype=np.float32)
        planes = canvas.transpose(2, 0, 1)
        if self._layout == "yolox":
            blob[0] = planes  # YOLOX is trained on BGR 0-255.
        else:
            np.divide(planes[::-1], np.float32(255), out=blob[0])  # RGB, 0-1
        return blob

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Detections:
        check_image(image_bgr)
        width, height = self._manifest.input_width, self._manifest.input_height
        canvas, placement = letterbox(image_bgr, width, height, centred=self._layout != "yolox")
        try:
            output = self._session.run(None, {self._input_name: self._blob(canvas)})[0]
        except Exception as exc:  # a model that cannot run on its declared input
            raise ModelError(f"{self.name} failed to run: {exc}") from exc
        xyxy, score, class_id = decode(
            self._layout, np.asarray(output, dtype=np.float32), len(self.classes), width, height
        )
        if self._keep is not None:
            wanted = self._keep[class_id]
            xyxy, score, class_id = xyxy[wanted], score[wanted], class_id[wanted]
        frame_h, frame_w = image_bgr.shape[:2]
        return non_max_suppression(
            placement.to_frame(xyxy, frame_w, frame_h),
            score,
            class_id,
            score_threshold=self._manifest.confidence_threshold,
            iou_threshold=self._manifest.nms_threshold,
        )
