"""Opaque bearer secrets: only their SHA-256 is stored, so a database copy cannot sign in."""

from __future__ import annotations

import hashlib

from safecity.core.clock import new_token

API_TOKEN_PREFIX = "sct_"  # noqa: S105 - a visible marker, not a secret


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_session_secret() -> str:
    return new_token(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + new_token(32)
