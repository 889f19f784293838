"""UTC time and ids. Stored times are always UTC; Pakistan Standard Time is for display."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta, timezone

PKT = timezone(timedelta(hours=5), "PKT")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored datetime is UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_pkt(value: datetime) -> datetime:
    return as_utc(value).astimezone(PKT)


def format_pkt(value: datetime | None) -> str:
    if value is None:
        return ""
    return to_pkt(value).strftime("%d-%m-%Y %H:%M:%S PKT")


def new_request_id() -> str:
    return uuid.uuid4().hex


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
