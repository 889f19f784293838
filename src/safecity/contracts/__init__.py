"""Typed, versioned messages on the bus; the only language the data plane and control plane share."""

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
