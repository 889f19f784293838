"""The one detection type: validation with clear messages, copies, masks, merge."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from safecity.vision.detections import Detections


def _three() -> Detections:
    return Detections.create(
        [[0, 0, 10, 10], [5, 5, 20, 30], [100, 50, 120, 80]], [0.9, 0.5, 0.7], [0, 2, 0]
    )


@pytest.mark.parametrize(
    ("xyxy", "confidence", "class_id", "tracker_id", "message"),
    [
        ([[0, 0, 1]], [0.5], [0], None, r"xyxy must have shape \(N, 4\), got \(1, 3\)"),
        ([[0, 0, 1, 1]], [0.5, 0.2], [0], None, r"confidence must have shape \(1,\)"),
        ([[0, 0, 1, 1]], [0.5], [[0]], None, r"class_id must have shape \(1,\)"),
        ([[0, 0, 1, 1]], [0.5], [0], [1, 2], r"tracker_id must have shape \(1,\)"),
        ([[5, 0, 1, 1]], [0.5], [0], None, "x1 <= x2"),
        ([[0, 0, np.nan, 1]], [0.5], [0], None, "NaN"),
        ([["a", 0, 1, 1]], [0.5], [0], None, "xyxy cannot be read"),
    ],
)
def test_invalid_shapes_are_refused_naming_expected_and_actual(
    xyxy: Any, confidence: Any, class_id: Any, tracker_id: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Detections.create(xyxy, confidence, class_id, tracker_id)


def test_the_callers_arrays_are_copied_and_the_value_is_read_only() -> None:
    boxes = np.array([[0, 0, 10, 10]], dtype=np.float32)
    detections = Detections.create(boxes, [0.5], [1])
    boxes[0, 0] = 99
    assert detections.xyxy[0, 0] == 0
    with pytest.raises(ValueError, match="read-only"):
        detections.xyxy[0, 0] = 5


def test_masks_index_arrays_and_ints_select_rows() -> None:
    detections = _three().with_tracker_ids([7, 8, 9])
    people = detections[detections.class_id == 0]
    assert len(people) == 2
    assert people.tracker_id is not None
    assert people.tracker_id.tolist() == [7, 9]
    assert detections[1].xyxy.shape == (1, 4)
    assert len(detections[np.array([], dtype=np.int64)]) == 0
    with pytest.raises(ValueError, match=r"boolean mask must have shape \(3,\)"):
        _ = detections[np.array([True, False])]


def test_with_tracker_ids_leaves_the_original_untouched() -> None:
    original = _three()
    tracked = original.with_tracker_ids([1, 2, 3])
    assert original.tracker_id is None
    assert tracked.tracker_id is not None


def test_empty_and_merge() -> None:
    assert len(Detections.empty()) == 0
    merged = Detections.merge([_three(), Detections.empty(), _three()[0]])
    assert len(merged) == 4
    assert merged.tracker_id is None
    both = Detections.merge(
        [_three().with_tracker_ids([1, 2, 3]), _three()[0].with_tracker_ids([4])]
    )
    assert both.tracker_id is not None
    assert both.tracker_id.tolist() == [1, 2, 3, 4]
    assert len(Detections.merge([])) == 0


def test_anchor_is_the_bottom_centre() -> None:
    assert _three().anchors()[1].tolist() == [12.5, 30.0]
