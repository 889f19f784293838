"""Decoders from raw YOLO output tensors to boxes (network-input pixels), scores and classes.

Each takes the model's single output with its batch axis and returns
``(xyxy, score, class_id)`` for every candidate, before thresholding and NMS.
A tensor whose shape does not fit the manifest's class count raises
ModelError naming both, so a mis-described model fails loudly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from safecity.vision.detectors.base import ModelError

Decoded = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int32]]

YOLOX_STRIDES = (8, 16, 32)


def _single(output: npt.NDArray[np.float32], layout: str) -> npt.NDArray[np.float32]:
    if output.ndim != 3 or output.shape[0] != 1:
        raise ModelError(f"{layout} output must have shape (1, ., .), got {output.shape}")
    single: npt.NDArray[np.float32] = output[0].astype(np.float32, copy=False)
    return single


def _cxcywh_to_xyxy(boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    half = boxes[:, 2:4] / 2
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1).astype(np.float32)


def _best_class(
    scores: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    if scores.shape[1] == 0:
        raise ModelError("the output holds no class scores")
    class_id = scores.argmax(axis=1).astype(np.int32)
    return scores[np.arange(len(scores)), class_id].astype(np.float32), class_id


def decode_yolov5(output: npt.NDArray[np.float32], classes: int) -> Decoded:
    """(1, N, 5 + C): cx, cy, w, h, objectness, C class probabilities."""
    rows = _single(output, "yolov5")
    if rows.shape[1] != 5 + classes:
        raise ModelError(
            f"yolov5 output has {rows.shape[1]} values per box, the manifest's {classes} "
            f"classes need {5 + classes}"
        )
    score, class_id = _best_class(rows[:, 5:])
    return _cxcywh_to_xyxy(rows[:, :4]), score * rows[:, 4], class_id


def decode_yolov8(output: npt.NDArray[np.float32], classes: int) -> Decoded:
    """(1, 4 + C, N): cx, cy, w, h then C class scores, one column per anchor (v8 and v11)."""
    columns = _single(output, "yolov8")
    if columns.shape[0] != 4 + classes:
        raise ModelError(
            f"yolov8 output has {columns.shape[0]} rows, the manifest's {classes} classes "
            f"need {4 + classes} (shape (1, 4 + C, N))"
        )
    rows = columns.T
    score, class_id = _best_class(rows[:, 4:])
    return _cxcywh_to_xyxy(rows[:, :4]), score, class_id


def yolox_grid(width: int, height: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Cell offsets and strides of every YOLOX anchor for an input size, in output order."""
    cells, strides = [], []
    for stride in YOLOX_STRIDES:
        ys, xs = np.meshgrid(np.arange(height // stride), np.arange(width // stride), indexing="ij")
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strides.append(np.full((xs.size, 1), stride))
    return (
        np.concatenate(cells).astype(np.float32),
        np.concatenate(strides).astype(np.float32),
    )


def decode_yolox(output: npt.NDArray[np.float32], classes: int, width: int, height: int) -> Decoded:
    """(1, N, 5 + C) raw grid outputs: xy offsets, log wh, objectness, class scores."""
    rows = _single(output, "yolox")
    if rows.shape[1] != 5 + classes:
        raise ModelError(
            f"yolox output has {rows.shape[1]} values per box, the manifest's {classes} "
            f"classes need {5 + classes}"
        )
    cells, strides = yolox_grid(width, height)
    if rows.shape[0] != len(cells):
        raise ModelError(
            f"yolox output has {rows.shape[0]} anchors, a {width}x{height} input gives "
            f"{len(cells)} (is the manifest's input size right?)"
        )
    centre = (rows[:, :2] + cells) * strides
    size = np.exp(np.clip(rows[:, 2:4], -20, 20)) * strides
    score, class_id = _best_class(rows[:, 5:])
    return _cxcywh_to_xyxy(np.concatenate([centre, size], axis=1)), score * rows[:, 4], class_id
