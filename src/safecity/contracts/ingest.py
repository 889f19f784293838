"""Ingest facts: how each camera's stream is doing, and each recording segment that closed.

Both travel on general subjects, so they never carry a stream URL, a user
name or a password; error details are scrubbed before they get here. The
control plane stores them: ``SegmentClosed`` indexes the recordings by camera
and time, ``CameraHealth`` feeds the health views and alerts.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from safecity.contracts.base import Message

# The camera id names the camera's recording folder, so it may hold no path
# separators and cannot be "." or "..".
CAMERA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
PROBLEM_CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"

StreamState = Literal["connecting", "streaming", "reconnecting", "stopped"]
RecordingMode = Literal["continuous", "events", "off"]
"""Per camera: record everything, only around events (motion, rule events), or nothing."""
SegmentKind = Literal["continuous", "event"]
# A segment file's MP4 comment tag: this prefix and its kind, so that a file whose
# SegmentClosed was lost can still be indexed as what it is.
SEGMENT_COMMENT_PREFIX = "safecity segment kind="


def segment_kind_from_comment(comment: str) -> SegmentKind:
    """The kind a segment file's comment tag names; continuous when it names none.

    Files written before the tag existed, or by another recorder, were continuous.
    """
    written = comment.removeprefix(SEGMENT_COMMENT_PREFIX)
    if comment.startswith(SEGMENT_COMMENT_PREFIX) and written == "event":
        return "event"
    return "continuous"


def segment_message_id(camera_id: str, sha256: str) -> str:
    """The bus message id of a segment: the same file of the same camera, the same id."""
    return hashlib.sha256(f"{camera_id}\n{sha256}".encode()).hexdigest()


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class HealthProblem(BaseModel):
    """One open problem of a camera, for as long as it lasts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(
        pattern=PROBLEM_CODE_PATTERN,
        description=(
            "What is wrong, as a stable code: offline, stalled, recording_failed, "
            "clock_drift from ingest; frozen, black, covered, defocused, moved and others "
            "from image checks."
        ),
    )
    detail: str = Field(
        default="",
        max_length=300,
        description="Human-readable detail (an error message with credentials removed).",
    )
    since: AwareDatetime = Field(description="When the problem was first seen (UTC).")

    @field_validator("since")
    @classmethod
    def _since_utc(cls, value: datetime) -> datetime:
        return _utc(value)


class CameraHealth(Message):
    """A periodic report on one camera's stream, published by the camera's ingest worker."""

    subject: ClassVar[str] = "ingest.camera.health"
    schema_version: ClassVar[int] = 1

    camera_id: str = Field(pattern=CAMERA_ID_PATTERN, description="Camera code.")
    state: StreamState = Field(description="Connection state of the stream reader.")
    state_since: AwareDatetime = Field(description="When the reader entered that state (UTC).")
    fps: float = Field(
        ge=0, description="Video frames received per second over the last few seconds."
    )
    bitrate_bps: float = Field(
        ge=0, description="Video bits received per second over the last few seconds."
    )
    last_frame_at: AwareDatetime | None = Field(
        default=None, description="Wall-clock time the last video frame arrived (UTC)."
    )
    last_frame_pts_seconds: float | None = Field(
        default=None,
        description="Stream timestamp of the last video frame, in seconds (camera's clock).",
    )
    reconnects: int = Field(
        ge=0, description="Times the stream was lost (or could not be opened) since start."
    )
    codec: str | None = Field(
        default=None, max_length=32, description="Video codec of the stream, e.g. h264."
    )
    width: int | None = Field(default=None, ge=1, description="Frame width in pixels.")
    height: int | None = Field(default=None, ge=1, description="Frame height in pixels.")
    recording: bool = Field(description="A recording segment is being written right now.")
    segments_closed: int = Field(ge=0, description="Recording segments closed since start.")
    frames_dropped: int = Field(
        ge=0,
        description="Decoded frames the analytics queue dropped (oldest first) since start.",
    )
    problems: tuple[HealthProblem, ...] = Field(
        default=(), max_length=32, description="Problems open right now; empty when healthy."
    )
    clock_offset_seconds: float | None = Field(
        default=None,
        description=(
            "The camera's clock minus the worker's, in seconds (positive: camera ahead), where "
            "the stream carries wall-clock time (RTCP sender reports); null where it does not."
        ),
    )

    @field_validator("state_since", "last_frame_at")
    @classmethod
    def _times_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)


class SegmentClosed(Message):
    """A recording segment was closed and is complete on disk (stream copy, never re-encoded).

    ``message_id`` is ``segment_message_id(camera_id, sha256)``, so publishing a segment
    again after a restart is stored once, while two cameras that happen to write the same
    bytes (identical test patterns, two black screens) still announce two segments.
    """

    subject: ClassVar[str] = "ingest.segment.closed"
    schema_version: ClassVar[int] = 1

    camera_id: str = Field(pattern=CAMERA_ID_PATTERN, description="Camera code.")
    path: str = Field(
        min_length=1,
        max_length=400,
        description="File path relative to the media root, with '/' separators.",
    )
    started_at: AwareDatetime = Field(description="Time of the segment's first frame (UTC).")
    ended_at: AwareDatetime = Field(
        description="Time just after the segment's last frame (UTC): start plus duration."
    )
    duration_seconds: float = Field(ge=0, description="Length of the video in the segment.")
    size_bytes: int = Field(ge=1, description="Size of the file in bytes.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, hex.")
    codec: str = Field(min_length=1, max_length=32, description="Video codec, e.g. h264.")
    width: int = Field(ge=1, description="Frame width in pixels.")
    height: int = Field(ge=1, description="Frame height in pixels.")
    frames: int = Field(ge=1, description="Video frames in the segment.")
    key_frames: int = Field(ge=1, description="Key frames in the segment (the first is one).")
    gap_before_seconds: float | None = Field(
        default=None,
        description=(
            "Time between the end of this camera's previous segment and the start of this "
            "one; about 0 in continuous recording, the outage after a reconnect, negative "
            "for an overlap, null for the first segment of a recorder."
        ),
    )
    kind: SegmentKind = Field(
        default="continuous",
        description=(
            "'event' for footage recorded around an event (pre-roll, event, post-roll) by a "
            "camera in events mode; 'continuous' otherwise."
        ),
    )

    @field_validator("started_at", "ended_at")
    @classmethod
    def _bounds_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        # Split by hand: PurePosixPath folds "a//b" and "a/./b", hiding what was sent.
        if "\\" in value or any(part in {"", ".", ".."} for part in value.split("/")):
            raise ValueError("must be a relative path below the media root, without '..'")
        return value

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


class RecordingModeChanged(Message):
    """A camera's recording mode was changed in the registry: its running worker follows.

    Published through the outbox after the change is committed, on one subject per
    camera (``routing_field``), so each ingest worker receives only its own camera's.
    """

    subject: ClassVar[str] = "ingest.recording_mode"
    schema_version: ClassVar[int] = 1
    routing_field: ClassVar[str | None] = "camera_id"

    camera_id: str = Field(pattern=CAMERA_ID_PATTERN, description="Camera code.")
    mode: RecordingMode = Field(description="continuous, events or off.")
    version: int = Field(
        ge=1,
        description="The camera's registry version after the change: a worker ignores a "
        "message older than one it already applied (redelivery after a newer one).",
    )
