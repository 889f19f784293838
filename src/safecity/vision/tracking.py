"""Multi-object tracking with supervision's ByteTrack, behind an adapter that never mutates.

The association (two rounds, Kalman prediction, lost and re-found tracks) is
supervision's ``ByteTrack.update_with_tensors``. Which detection each of its tracks
is, the adapter decides itself rather than through ``update_with_detections``: that
keeps a detection only where the IoU between it and its track's Kalman estimate
exceeds 0.5, and the estimate lags a vehicle that moves fast for its size, shrinks
as it leaves the picture or grows as it nears the camera. At 5 analysed frames a
second it dropped the detections of tracked vehicles in about half the frames where
their plates were in view (bench/anpr_pipeline.py, docs/BENCHMARKS.md), and those
frames never reached the plate reader. The adapter pairs the tracks with the
detections by the largest IoU, one to one, down to ``MIN_PAIRING_IOU``, and returns
the detector's boxes, never the estimates. It returns a new :class:`Detections`; the
caller's value stays as it was.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from safecity.vision.detections import Detections

MIN_PAIRING_IOU = 0.2
"""Least IoU between a detection and the Kalman estimate of the track it updated. The
estimate is pulled most of the way to the detection, so a pair under this is not one;
two vehicles side by side are told apart by the one-to-one pairing, largest IoU first."""


class ObjectTracker:
    """ByteTrack for one camera; feed every analysed frame's detections in order."""

    def __init__(
        self,
        *,
        frame_rate: float,
        lost_track_seconds: float = 2.0,
        activation_threshold: float = 0.25,
        matching_threshold: float = 0.8,
    ) -> None:
        if frame_rate <= 0:
            raise ValueError(f"frame_rate must be positive, got {frame_rate}")
        import supervision

        self._supervision: Any = supervision
        self._tracker = supervision.ByteTrack(
            track_activation_threshold=activation_threshold,
            lost_track_buffer=max(1, round(lost_track_seconds * frame_rate)),
            minimum_matching_threshold=matching_threshold,
            frame_rate=max(1, round(frame_rate)),
            minimum_consecutive_frames=1,
        )

    def update(self, detections: Detections) -> Detections:
        """The detections that belong to a track, each with its ``tracker_id``, in the
        order given."""
        xyxy = np.array(detections.xyxy, dtype=np.float32).reshape(-1, 4)
        confidence = np.array(detections.confidence, dtype=np.float32).reshape(-1, 1)
        tracks = self._tracker.update_with_tensors(np.hstack((xyxy, confidence)))
        if not tracks or not len(xyxy):
            return Detections.create(np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.zeros(0))
        estimates = np.array([track.tlbr for track in tracks], dtype=np.float32)
        overlap = self._supervision.box_iou_batch(xyxy, estimates)
        rows, columns = linear_sum_assignment(overlap, maximize=True)
        paired = sorted(
            (int(row), int(column))
            for row, column in zip(rows, columns, strict=True)
            if overlap[row, column] >= MIN_PAIRING_IOU
        )
        if not paired:
            return Detections.create(np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.zeros(0))
        kept = np.array([row for row, _ in paired])
        ids = np.array([tracks[column].external_track_id for _, column in paired])
        return Detections.create(
            detections.xyxy[kept], detections.confidence[kept], detections.class_id[kept], ids
        )
