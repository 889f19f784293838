"""Darknet (.cfg + .weights) models through OpenCV DNN, e.g. Yolo-Fastest; needs OpenCV < 5."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
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
from safecity.vision.detectors.manifest import ModelManifest


class DarknetDetector:
    """OpenCV's Darknet importer; outputs are (N, 5 + C) rows in relative cx, cy, w, h."""

    def __init__(self, manifest: ModelManifest, net: Any) -> None:
        self._manifest = manifest
        self._net = net
        self._outputs = list(net.getUnconnectedOutLayersNames())
        self._keep = class_filter(manifest)

    @classmethod
    def from_manifest(cls, manifest: ModelManifest, base: Path) -> Detector:
        if not hasattr(cv2.dnn, "readNetFromDarknet"):
            raise DetectorUnavailable(
                f"OpenCV {cv2.__version__} has no Darknet loader (it was removed in 5.x)"
            )
        weights = manifest.file if manifest.file.is_absolute() else base / manifest.file
        if manifest.config_file is None:
            raise ModelError("a darknet manifest needs 'config_file'")
        config = manifest.config_file
        config = config if config.is_absolute() else base / config
        if not config.is_file():
            raise ModelError(f"Darknet config {config} does not exist")
        try:
            net = cv2.dnn.readNetFromDarknet(str(config), str(weights))
        except cv2.error as exc:
            raise ModelError(f"OpenCV cannot load {config} with {weights}: {exc}") from exc
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        detector = cls(manifest, net)
        detector.detect(np.zeros((manifest.input_height, manifest.input_width, 3), np.uint8))
        return detector

    @property
    def name(self) -> str:
        return f"darknet:{self._manifest.file.name}"

    @property
    def classes(self) -> tuple[str, ...]:
        return self._manifest.classes

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Detections:
        check_image(image_bgr)
        height, width = image_bgr.shape[:2]
        blob = cv2.dnn.blobFromImage(
            image_bgr,
            1 / 255.0,
            (self._manifest.input_width, self._manifest.input_height),
            swapRB=True,
            crop=False,
        )
        self._net.setInput(blob)
        try:
            outputs = self._net.forward(self._outputs)
        except cv2.error as exc:
            raise ModelError(f"{self.name} failed to run: {exc}") from exc
        rows = np.concatenate(
            [np.asarray(out, np.float32).reshape(-1, out.shape[-1]) for out in outputs]
        )
        classes = len(self.classes)
        if rows.shape[1] != 5 + classes:
            raise ModelError(
                f"{self.name} outputs {rows.shape[1]} values per box, the manifest's "
                f"{classes} classes need {5 + classes}"
            )
        scores = rows[:, 5:]
        class_id = scores.argmax(axis=1).astype(np.int32)
        score = scores[np.arange(len(rows)), class_id].astype(np.float32)
        if self._keep is not None:
            wanted = self._keep[class_id]
            rows, score, class_id = rows[wanted], score[wanted], class_id[wanted]
        scale = np.array([width, height, width, height], dtype=np.float32)
        centre = rows[:, :4] * scale
        half = centre[:, 2:4] / 2
        xyxy = np.concatenate([centre[:, :2] - half, centre[:, :2] + half], axis=1)
        xyxy = np.clip(xyxy, 0, [width, height, width, height]).astype(np.float32)
        return non_max_suppression(
            xyxy,
            score,
            class_id,
            score_threshold=self._manifest.confidence_threshold,
            iou_threshold=self._manifest.nms_threshold,
        )
