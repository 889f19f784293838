"""Appending to, sealing and verifying the audit chain.

Appends happen inside the caller's transaction, so a change and its audit
record commit together or not at all. Just before such a transaction commits,
the chain end is signed (a checkpoint) with a key kept outside the database:
rewriting history then needs that key, not only database access.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from safecity.audit.chain import (
    HASHED_FIELDS,
    json_safe,
    key_id,
    record_hash,
    sign_checkpoint,
    signature_valid,
)
from safecity.audit.context import AuditContext
from safecity.audit.models import GENESIS_HASH, AuditCheckpoint, AuditHead, AuditRecord
from safecity.core.clock import utcnow

_PENDING = "safecity.audit.pending"


class AuditLog:
    def __init__(self, signing_key: Ed25519PrivateKey) -> None:
        self._key = signing_key
        self._key_id = key_id(signing_key.public_key())

    def attach(self, factory: sessionmaker[Session]) -> None:
        """Seal the chain before every commit of a session from ``factory``."""
        event.listen(factory, "before_commit", self._seal_pending)

    def append(
        self,
        session: Session,
        ctx: AuditContext,
        *,
        action: str,
        object_type: str,
        object_id: str | int | None = None,
        district: str | None = None,
        summary: str = "",
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditRecord:
        head = session.execute(
            select(AuditHead).where(AuditHead.id == 1).with_for_update()
        ).scalar_one_or_none()
        if head is None:
            raise RuntimeError("audit_head row missing: run `safecity db upgrade`")
        fields: dict[str, Any] = {
            "seq": head.last_seq + 1,
            "at": utcnow(),
            "actor_id": ctx.actor_id,
            "actor_name": ctx.actor_name,
            "action": action,
            "object_type": object_type,
            "object_id": None if object_id is None else str(object_id),
            "district": district,
            "summary": summary,
            "before": None if before is None else json_safe(before),
            "after": None if after is None else json_safe(after),
            "request_id": ctx.request_id,
            "purpose": ctx.purpose,
            "source_ip": ctx.source_ip,
            "prev_hash": head.last_hash,
        }
        record = AuditRecord(**fields, hash=record_hash(fields))
        session.add(record)
        head.last_seq = record.seq
        head.last_hash = record.hash
        session.flush()
        session.info[_PENDING] = session.info.get(_PENDING, 0) + 1
        return record

    def _seal_pending(self, session: Session) -> None:
        pending = session.info.pop(_PENDING, 0)
        if not pending:
            return
        # Every transaction that appended is sealed: an unsealed tail could be rewritten
        # by anyone with database access, so there is deliberately no "every N" setting.
        head = session.get(AuditHead, 1)
        if head is not None:
            self.checkpoint(session, head)

    def checkpoint(self, session: Session, head: AuditHead | None = None) -> AuditCheckpoint | None:
        head = head or session.get(AuditHead, 1)
        if head is None:
            return None
        checkpoint = AuditCheckpoint(
            seq=head.last_seq,
            hash=head.last_hash,
            signed_at=utcnow(),
            key_id=self._key_id,
            signature=sign_checkpoint(self._key, head.last_seq, head.last_hash),
        )
        session.add(checkpoint)
        session.flush()
        return checkpoint


@dataclass
class VerifyReport:
    records: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _records(session: Session, upto: int) -> Iterator[AuditRecord]:
    yield from session.execute(
        select(AuditRecord)
        .where(AuditRecord.seq <= upto)
        .order_by(AuditRecord.seq)
        .execution_options(yield_per=2000)
    ).scalars()


def verify_chain(
    session: Session, public_key: Ed25519PublicKey, max_problems: int = 50
) -> VerifyReport:
    """Recompute every hash and check every checkpoint; report what does not hold."""
    report = VerifyReport()
    expected_key = key_id(public_key)
    hashes: dict[int, str] = {}
    prev = GENESIS_HASH
    expected_seq = 1

    def problem(text: str) -> None:
        if len(report.problems) < max_problems:
            report.problems.append(text)

    # Read the head first and look no further: appends committed while we read (each
    # statement sees new commits under READ COMMITTED) must not look like tampering.
    head = session.get(AuditHead, 1)
    upto = head.last_seq if head is not None else 0
    head_state = (head.last_seq, head.last_hash) if head is not None else None
    for record in _records(session, upto):
        report.records += 1
        if record.seq != expected_seq:
            problem(f"record {record.seq}: expected sequence {expected_seq} (deleted or reordered)")
        if record.prev_hash != prev:
            problem(f"record {record.seq}: does not link to the record before it")
        fields = {name: getattr(record, name) for name in HASHED_FIELDS}
        if record_hash(fields) != record.hash:
            problem(f"record {record.seq}: content does not match its hash (edited)")
        hashes[record.seq] = record.hash
        prev = record.hash
        expected_seq = record.seq + 1
        report.head_seq, report.head_hash = record.seq, record.hash

    checkpoints = session.execute(
        select(AuditCheckpoint).where(AuditCheckpoint.seq <= upto).order_by(AuditCheckpoint.id)
    ).scalars()
    last_sealed = 0
    for cp in checkpoints:
        report.checkpoints += 1
        if cp.key_id != expected_key:
            problem(f"checkpoint {cp.id}: signed by unknown key {cp.key_id}")
            continue
        if not signature_valid(public_key, cp.seq, cp.hash, cp.signature):
            problem(f"checkpoint {cp.id}: signature invalid (forged or altered)")
            continue
        if hashes.get(cp.seq) != cp.hash:
            problem(
                f"checkpoint {cp.id}: chain at record {cp.seq} differs from the signed hash "
                "(history rewritten)"
            )
        last_sealed = max(last_sealed, cp.seq)
    if report.records and last_sealed < report.head_seq:
        problem(
            f"records {last_sealed + 1}..{report.head_seq} are not covered by a signed checkpoint"
        )
    if head_state is None:
        problem("chain head row is missing")
    elif head_state != (report.head_seq, report.head_hash):
        problem(f"chain head says record {head_state[0]} but the log ends at {report.head_seq}")
    return report
