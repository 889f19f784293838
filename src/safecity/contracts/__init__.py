"""Typed, versioned bus messages: the only language shared by the data and control planes."""

from safecity.contracts.alerts import AlertRaised, AlertSource
from safecity.contracts.analytics import Box, PlateRead, RuleEvent, RuleKind
from safecity.contracts.base import (
    SCHEMA_HEADER,
    SUBJECT_PREFIX,
    VERSION_HEADER,
    Envelope,
    Message,
    MessageDecodeError,
)
from safecity.contracts.ingest import CameraHealth, HealthProblem, SegmentClosed, StreamState
from safecity.contracts.registry import CameraChanged, SiteChanged

__all__ = [
    "SCHEMA_HEADER",
    "SUBJECT_PREFIX",
    "VERSION_HEADER",
    "AlertRaised",
    "AlertSource",
    "Box",
    "CameraChanged",
    "CameraHealth",
    "Envelope",
    "HealthProblem",
    "Message",
    "MessageDecodeError",
    "PlateRead",
    "RuleEvent",
    "RuleKind",
    "SegmentClosed",
    "SiteChanged",
    "StreamState",
]
