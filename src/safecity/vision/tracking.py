"""Multi-object tracking with supervision's ByteTrack, behind an adapter that never mutates.

supervision's ``ByteTrack.update_with_detections`` writes ``tracker_id`` into
the object it is given; the adapter hands it a private copy and returns a new
:class:`Detections`, so the caller's value stays as it was.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from safecity.vision.detections import Detections


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
        """The detections that belong to a track, each with its ``tracker_id``."""
        private = self._supervision.Detections(
            xyxy=np.array(detections.xyxy, dtype=np.float32),
            confidence=np.array(detections.confidence, dtype=np.float32),
            class_id=np.array(detections.class_id, dtype=np.int64),
        )
        tracked = self._tracker.update_with_detections(private)
        if len(tracked) == 0:
            return Detections.create(np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.zeros(0))
        return Detections.create(
            tracked.xyxy,
            tracked.confidence if tracked.confidence is not None else np.ones(len(tracked)),
            tracked.class_id if tracked.class_id is not None else np.full(len(tracked), -1),
            tracked.tracker_id,
        )
