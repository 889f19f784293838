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

ByteTrack is given every box grown on each side (``BUFFER``), so that a young track,
which has no velocity yet, still overlaps the next frame's box of a vehicle that moved
most of its size; and the adapter also reports each new track's first, unconfirmed
frame (``tentative``). Both read supervision's track objects (``tracked_tracks``,
``is_activated``, ``tlbr``, ``external_track_id``) beyond its documented
API: supervision is pinned (requirements/no-deps.txt) and tests/vision/
test_motion_tracking.py pins the behaviour, so an upgrade that changes them fails there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from safecity.vision.detections import Detections

MIN_PAIRING_IOU = 0.2
"""Least IoU between a detection and the Kalman estimate of the track it updated. The
estimate is pulled most of the way to the detection, so a pair under this is not one;
two vehicles side by side are told apart by the one-to-one pairing, largest IoU first."""


BUFFER = 0.3
"""Each side of a box is moved out by this share of its width or height before ByteTrack
sees it (the tracker's Kalman state is of these larger boxes; the adapter returns the
detector's). See ``buffered``."""


def buffered(xyxy: npt.NDArray[np.float32], share: float) -> npt.NDArray[np.float32]:
    """Boxes grown on every side by ``share`` of their size, centre and aspect kept."""
    if share == 0 or not len(xyxy):
        return xyxy
    size = np.concatenate([xyxy[:, 2:] - xyxy[:, :2]] * 2, axis=1)
    grown: npt.NDArray[np.float32] = (xyxy + size * np.array([-1, -1, 1, 1]) * share).astype(
        np.float32
    )
    return grown


class ObjectTracker:
    """ByteTrack for one camera; feed every analysed frame's detections in order."""

    def __init__(
        self,
        *,
        frame_rate: float,
        lost_track_seconds: float = 2.0,
        activation_threshold: float = 0.25,
        matching_threshold: float = 0.8,
        buffer: float = BUFFER,
        id_offset: int = 0,
    ) -> None:
        """``id_offset``: added to every track id (ByteTrack counts from 1), so that ids of
        a restarted worker do not repeat those it published before."""
        if id_offset < 0:
            raise ValueError(f"id_offset must not be negative, got {id_offset}")
        self._id_offset = id_offset
        if frame_rate <= 0:
            raise ValueError(f"frame_rate must be positive, got {frame_rate}")
        if buffer < 0:
            raise ValueError(f"buffer must not be negative, got {buffer}")
        self._buffer = buffer
        self._lost_track_seconds = lost_track_seconds
        import supervision

        self._supervision: Any = supervision
        self._tracker = supervision.ByteTrack(
            track_activation_threshold=activation_threshold,
            lost_track_buffer=max(1, round(lost_track_seconds * frame_rate)),
            minimum_matching_threshold=matching_threshold,
            frame_rate=max(1, round(frame_rate)),
            minimum_consecutive_frames=1,
        )
        self._tentative = Detections.empty()
        # ByteTrack confirms every box of its very first frame at once (frame 1 has no
        # earlier frame to confirm against); one empty frame first makes a camera's first
        # boxes as tentative as any others, so a stray box never reaches the rules.
        self._tracker.update_with_tensors(np.zeros((0, 5), np.float32))

    def set_frame_rate(self, frame_rate: float) -> None:
        """Frames analysed per second from now on (a camera's analysed rate changed): a lost
        track is kept for the same ``lost_track_seconds``, and the live tracks keep their
        ids (a new tracker would start them again from 1)."""
        if frame_rate <= 0:
            raise ValueError(f"frame_rate must be positive, got {frame_rate}")
        lost_track_buffer = max(1, round(self._lost_track_seconds * frame_rate))
        # ByteTrack derives this one attribute from its frame rate and buffer, in
        # its constructor; set it the same way.
        self._tracker.max_time_lost = int(max(1, round(frame_rate)) / 30.0 * lost_track_buffer)

    @property
    def lost_frames(self) -> int:
        """Analysed frames a lost track is kept before it is dropped."""
        return int(self._tracker.max_time_lost)

    @property
    def tentative(self) -> Detections:
        """The last frame's detections that began a track which is not yet confirmed, with
        that track's id (kept if the track is confirmed on the next frame).

        ByteTrack confirms a new track only when it is matched again on the next frame, and
        withholds it until then: right for the rules (a single spurious box must not enter
        a zone), wrong for the plate stage when a vehicle's plate is in view for one or two
        analysed frames as it comes in under the picture's edge."""
        return self._tentative

    def update(self, detections: Detections) -> Detections:
        """The detections that belong to a confirmed track, each with its ``tracker_id``, in
        the order given (see also ``tentative``)."""
        xyxy = buffered(np.array(detections.xyxy, dtype=np.float32).reshape(-1, 4), self._buffer)
        confidence = np.array(detections.confidence, dtype=np.float32).reshape(-1, 1)
        confirmed = self._tracker.update_with_tensors(np.hstack((xyxy, confidence)))
        # supervision keeps a new track among its tracked ones, unconfirmed, from the frame
        # it began (one not matched on the next frame is removed, never kept); it has its
        # external id already (minimum_consecutive_frames=1).
        young = [track for track in self._tracker.tracked_tracks if not track.is_activated]
        tracks = [*confirmed, *young]
        self._tentative = _rows(detections, [])
        if not tracks or not len(xyxy):
            return self._tentative
        estimates = np.array([track.tlbr for track in tracks], dtype=np.float32)
        overlap = self._supervision.box_iou_batch(xyxy, estimates)
        rows, columns = linear_sum_assignment(overlap, maximize=True)
        paired = sorted(
            (int(row), int(column))
            for row, column in zip(rows, columns, strict=True)
            if overlap[row, column] >= MIN_PAIRING_IOU
        )
        self._tentative = _rows(
            detections,
            [(row, tracks[col]) for row, col in paired if col >= len(confirmed)],
            self._id_offset,
        )
        return _rows(
            detections,
            [(row, tracks[col]) for row, col in paired if col < len(confirmed)],
            self._id_offset,
        )


def _rows(detections: Detections, pairs: list[tuple[int, Any]], id_offset: int = 0) -> Detections:
    """Rows of ``detections`` with the external ids (plus ``id_offset``) of the tracks they
    are paired with."""
    if not pairs:
        return Detections.create(np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.zeros(0))
    kept = np.array([row for row, _ in pairs])
    ids = np.array([track.external_track_id + id_offset for _, track in pairs])
    return Detections.create(
        detections.xyxy[kept], detections.confidence[kept], detections.class_id[kept], ids
    )
