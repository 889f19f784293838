"""The detector interface, its errors and the post-processing the backends share.

Below the backends: they import it, and the registry that names them
(``backends.py``) sits above them; nothing here imports a backend.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from safecity.core.errors import SafecityError
from safecity.vision.detections import Detections
from safecity.vision.detectors.manifest import ModelManifest


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


def one_box_per_object(
    found: Detections, among: npt.NDArray[np.bool_], *, iou_threshold: float
) -> Detections:
    """``found`` with the rows marked ``among`` suppressed across their classes: of boxes
    of those rows overlapping by ``iou_threshold`` or more, only the most confident
    stays. A detector's NMS keeps classes apart, so one vehicle found as both a car and a
    truck stays two boxes, and the tracker makes two tracks of it; rows not ``among``
    (a rider over a motorcycle, say) keep their per-class NMS only."""
    if len(found) != len(among):
        raise ValueError(f"{len(among)} flags for {len(found)} detections")
    rows = np.flatnonzero(among)
    if len(rows) < 2:
        return found
    xyxy = found.xyxy[rows]
    xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    scores = found.confidence[rows]
    kept = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), 0.0, iou_threshold)
    keep = ~among.copy()
    keep[rows[np.array(kept, dtype=np.int64).reshape(-1)]] = True
    return found if keep.all() else found[keep]
