"""The detector interface, its errors, shared post-processing and the backend registry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from safecity.core.errors import ConfigError, SafecityError
from safecity.vision.detections import Detections
from safecity.vision.detectors.manifest import ModelManifest, load_manifest, verify_model_file

logger = logging.getLogger(__name__)


class ModelError(SafecityError):
    """A model file is missing, corrupt, or its outputs do not match its manifest."""

    code = "model_error"
    status = 422


class DetectorUnavailable(SafecityError):
    """The runtime a backend needs is not installed; the backend is reported and skipped."""

    code = "detector_unavailable"
    status = 503


class Detector(Protocol):
    """Finds objects in a BGR frame; boxes are in the frame's pixels."""

    @property
    def name(self) -> str: ...

    @property
    def classes(self) -> tuple[str, ...]: ...

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Detections: ...


BackendFactory = Callable[[ModelManifest, Path], Detector]
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Add or replace a backend (tests may swap one in)."""
    _BACKENDS[name] = factory


def _builtin_backends() -> None:
    if "onnx_yolo" not in _BACKENDS:
        from safecity.vision.detectors.onnx_yolo import OnnxYoloDetector

        register_backend("onnx_yolo", OnnxYoloDetector.from_manifest)
    if "darknet" not in _BACKENDS:
        from safecity.vision.detectors.darknet import DarknetDetector

        register_backend("darknet", DarknetDetector.from_manifest)


def backend_names() -> tuple[str, ...]:
    _builtin_backends()
    return tuple(sorted(_BACKENDS))


def load_detector(manifest_path: Path) -> Detector:
    """Build the detector a manifest describes, after checking the model file's SHA-256.

    Raises ModelError (bad manifest, missing/corrupt file, outputs that do not
    match) or DetectorUnavailable (runtime not installed), never anything else.
    """
    _builtin_backends()
    try:
        manifest, base = load_manifest(manifest_path)
        verify_model_file(manifest, base)
    except ConfigError as exc:
        raise ModelError(str(exc)) from exc
    factory = _BACKENDS.get(manifest.backend)
    if factory is None:
        raise DetectorUnavailable(f"no detector backend named {manifest.backend!r}")
    return factory(manifest, base)


def check_image(image_bgr: npt.NDArray[np.uint8]) -> None:
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ValueError(
            f"expected a BGR uint8 image (H, W, 3), got {image_bgr.dtype} {image_bgr.shape}"
        )
    if image_bgr.shape[0] < 2 or image_bgr.shape[1] < 2:
        raise ValueError(f"image too small: {image_bgr.shape}")


def class_filter(manifest: ModelManifest) -> npt.NDArray[np.bool_] | None:
    """A mask over class ids of the classes to keep, or None to keep all."""
    if manifest.keep_classes is None:
        return None
    keep = set(manifest.keep_classes)
    return np.array([name in keep for name in manifest.classes], dtype=bool)


def non_max_suppression(
    xyxy: npt.NDArray[np.float32],
    scores: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.int32],
    *,
    score_threshold: float,
    iou_threshold: float,
) -> Detections:
    """Per-class NMS (OpenCV's implementation, classes kept apart by offsetting boxes)."""
    keep_score = scores >= score_threshold
    xyxy, scores, class_ids = xyxy[keep_score], scores[keep_score], class_ids[keep_score]
    if not len(scores):
        return Detections.empty()
    # Shift each class far apart so boxes of different classes never overlap.
    offset = class_ids.astype(np.float32)[:, None] * (float(xyxy.max()) + 1.0)
    shifted = xyxy + offset
    xywh = np.concatenate([shifted[:, :2], shifted[:, 2:] - shifted[:, :2]], axis=1)
    kept = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), score_threshold, iou_threshold)
    index = np.array(kept, dtype=np.int64).reshape(-1)
    return Detections.create(xyxy[index], scores[index], class_ids[index])
