"""Typed, versioned bus messages: the only language shared by the data and control planes."""

from safecity.contracts.base import (
    SCHEMA_HEADER,
    SUBJECT_PREFIX,
    VERSION_HEADER,
    Envelope,
    Message,
    MessageDecodeError,
)
from safecity.contracts.registry import CameraChanged, SiteChanged

__all__ = [
    "SCHEMA_HEADER",
    "SUBJECT_PREFIX",
    "VERSION_HEADER",
    "CameraChanged",
    "Envelope",
    "Message",
    "MessageDecodeError",
    "SiteChanged",
]
