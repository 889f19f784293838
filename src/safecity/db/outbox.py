"""Transactional outbox: bus messages written in the same transaction as the change,
relayed to the bus after commit, so a message never announces a rolled-back change
and a crash between commit and publish loses nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from safecity.contracts.base import Message
from safecity.core.clock import utcnow
from safecity.db.base import Base


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    schema_version: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]


def enqueue(session: Session, message: Message) -> OutboxMessage:
    row = OutboxMessage(
        subject=message.subject,
        schema_version=message.schema_version,
        payload=message.model_dump(mode="json"),
    )
    session.add(row)
    return row
