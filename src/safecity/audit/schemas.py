"""Audit API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditRecordPublic(BaseModel):
    seq: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    object_type: str
    object_id: str | None
    district: str | None
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    purpose: str | None
    source_ip: str | None
    hash: str
