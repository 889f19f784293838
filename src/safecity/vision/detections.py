"""One validated, immutable detection type passed between vision steps.

Parallel numpy arrays, one row per object: boxes ``xyxy`` (float32, N x 4),
``confidence`` (float32, N), ``class_id`` (int32, N) and an optional
``tracker_id`` (int64, N). Shapes are checked when the value is built and the
arrays are copied and made read-only, so nothing a caller does to its own
arrays afterwards can change a ``Detections`` and no step can change one that
another step still holds. Adapters to other libraries live elsewhere
(``vision.tracking``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]
TrackArray = npt.NDArray[np.int64]


def _frozen(values: Any, dtype: type[np.generic], name: str) -> npt.NDArray[Any]:
    try:
        array = np.array(values, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} cannot be read as {np.dtype(dtype).name}: {exc}") from exc
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True, eq=False)
class Detections:
    """Objects found in one frame; build with :meth:`create` (validates and copies)."""

    xyxy: FloatArray
    confidence: FloatArray
    class_id: IntArray
    tracker_id: TrackArray | None = None

    @classmethod
    def create(
        cls,
        xyxy: Any,
        confidence: Any,
        class_id: Any,
        tracker_id: Any | None = None,
    ) -> Detections:
        boxes = _frozen(xyxy, np.float32, "xyxy")
        if boxes.size == 0:
            boxes = _frozen(np.zeros((0, 4)), np.float32, "xyxy")
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"xyxy must have shape (N, 4), got {boxes.shape}")
        count = boxes.shape[0]
        if not np.all(np.isfinite(boxes)):
            raise ValueError("xyxy holds NaN or infinite coordinates")
        if np.any(boxes[:, 2] < boxes[:, 0]) or np.any(boxes[:, 3] < boxes[:, 1]):
            raise ValueError("xyxy rows must satisfy x1 <= x2 and y1 <= y2")
        scores = _frozen(confidence, np.float32, "confidence")
        classes = _frozen(class_id, np.int32, "class_id")
        for name, array in (("confidence", scores), ("class_id", classes)):
            if array.shape != (count,):
                raise ValueError(
                    f"{name} must have shape ({count},) to match xyxy, got {array.shape}"
                )
        tracks = None
        if tracker_id is not None:
            tracks = _frozen(tracker_id, np.int64, "tracker_id")
            if tracks.shape != (count,):
                raise ValueError(
                    f"tracker_id must have shape ({count},) to match xyxy, got {tracks.shape}"
                )
        return cls(boxes, scores, classes, tracks)

    @classmethod
    def empty(cls) -> Detections:
        return cls.create(np.zeros((0, 4)), np.zeros(0), np.zeros(0))

    @classmethod
    def merge(cls, parts: Sequence[Detections]) -> Detections:
        """All rows of ``parts`` in order; tracker ids survive only if every part has them."""
        parts = [part for part in parts if len(part)]
        if not parts:
            return cls.empty()
        tracked = all(part.tracker_id is not None for part in parts)
        return cls.create(
            np.concatenate([part.xyxy for part in parts]),
            np.concatenate([part.confidence for part in parts]),
            np.concatenate([part.class_id for part in parts]),
            np.concatenate([part.tracker_id for part in parts if part.tracker_id is not None])
            if tracked
            else None,
        )

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, selector: Any) -> Detections:
        """Rows chosen by a boolean mask, an index array, a slice or an int (kept 2-D)."""
        if isinstance(selector, (int, np.integer)):
            selector = [int(selector)]
        mask = np.asarray(selector) if not isinstance(selector, slice) else selector
        if isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape != (len(self),):
            raise ValueError(f"a boolean mask must have shape ({len(self)},), got {mask.shape}")
        return Detections.create(
            self.xyxy[mask],
            self.confidence[mask],
            self.class_id[mask],
            None if self.tracker_id is None else self.tracker_id[mask],
        )

    def with_tracker_ids(self, tracker_id: Any) -> Detections:
        """A copy carrying ``tracker_id`` (validated); this object is unchanged."""
        return Detections.create(self.xyxy, self.confidence, self.class_id, tracker_id)

    def anchors(self) -> FloatArray:
        """Bottom-centre point of each box (where an object touches the ground), N x 2."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1).astype(
            np.float32
        )

    def centres(self) -> FloatArray:
        return np.stack(
            [(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, (self.xyxy[:, 1] + self.xyxy[:, 3]) / 2],
            axis=1,
        ).astype(np.float32)

    def scaled(self, factor_x: float, factor_y: float) -> Detections:
        """Boxes multiplied by the factors (e.g. back from a downscaled frame)."""
        factors = np.array([factor_x, factor_y, factor_x, factor_y], dtype=np.float32)
        return Detections.create(
            self.xyxy * factors, self.confidence, self.class_id, self.tracker_id
        )
