"""The audit log is append-only and tamper-evident: every kind of tampering is detected.

Tampering is done the way an insider with database access would: directly in
SQL, after dropping the append-only triggers.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError

from safecity.audit.chain import HASHED_FIELDS, record_hash
from safecity.audit.context import AuditContext
from safecity.audit.log import verify_chain
from safecity.audit.models import AuditRecord
from safecity.web.platform import Platform

CTX = AuditContext(
    actor_id=7, actor_name="inspector", request_id="r1", source_ip="127.0.0.1", purpose="testing"
)


def _append(platform: Platform, n: int, *, per_transaction: int = 1) -> None:
    for start in range(0, n, per_transaction):
        with platform.transaction() as session:
            for i in range(start, min(n, start + per_transaction)):
                platform.audit.append(
                    session,
                    CTX,
                    action="update",
                    object_type="camera",
                    object_id=i,
                    district="peshawar",
                    summary=f"change {i}",
                    before={"status": "online", "n": i},
                    after={"status": "offline", "n": i},
                )


def _verify(platform: Platform) -> list[str]:
    with platform.sessions() as session:
        return verify_chain(session, platform.keys.audit_verify_key()).problems


def _drop_triggers(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for name in (
            "audit_records_no_update",
            "audit_records_no_delete",
            "audit_checkpoints_no_update",
            "audit_checkpoints_no_delete",
        ):
            connection.execute(text(f"DROP TRIGGER {name}"))
    else:
        connection.execute(text("DROP TRIGGER audit_records_append_only ON audit_records"))
        connection.execute(text("DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints"))


def _tamper(platform: Platform, sql: Callable[[Connection], object]) -> None:
    with platform.engine.begin() as connection:
        _drop_triggers(connection)
        sql(connection)


def test_intact_log_verifies(platform: Platform) -> None:
    _append(platform, 12, per_transaction=3)
    with platform.sessions() as session:
        report = verify_chain(session, platform.keys.audit_verify_key())
    assert report.ok, report.problems
    assert report.records == 12
    assert report.checkpoints == 4  # one signed checkpoint per committed transaction


def test_database_refuses_update_and_delete(platform: Platform) -> None:
    _append(platform, 2)
    for statement in (
        "UPDATE audit_records SET summary = 'x' WHERE seq = 1",
        "DELETE FROM audit_records WHERE seq = 2",
        "DELETE FROM audit_checkpoints",
    ):
        with pytest.raises(DBAPIError, match="append-only"), platform.engine.begin() as c:
            c.execute(text(statement))
    assert _verify(platform) == []


def test_edited_record_is_detected(platform: Platform) -> None:
    _append(platform, 5)
    _tamper(
        platform,
        lambda c: c.execute(
            text("UPDATE audit_records SET summary = 'nothing happened' WHERE seq = 3")
        ),
    )
    problems = _verify(platform)
    assert any("record 3" in p and "edited" in p for p in problems), problems


def test_deleted_record_is_detected(platform: Platform) -> None:
    _append(platform, 5)
    _tamper(platform, lambda c: c.execute(text("DELETE FROM audit_records WHERE seq = 2")))
    problems = _verify(platform)
    assert any("record 3" in p and "deleted or reordered" in p for p in problems), problems


def test_reordered_records_are_detected(platform: Platform) -> None:
    _append(platform, 4)

    def swap(c: Connection) -> None:
        c.execute(text("UPDATE audit_records SET seq = 100 WHERE seq = 2"))
        c.execute(text("UPDATE audit_records SET seq = 2 WHERE seq = 3"))
        c.execute(text("UPDATE audit_records SET seq = 3 WHERE seq = 100"))

    _tamper(platform, swap)
    problems = _verify(platform)
    assert any("does not link" in p for p in problems), problems


def test_rewrite_with_recomputed_hashes_is_caught_by_signed_checkpoints(
    platform: Platform,
) -> None:
    """The insider edits record 2 and recomputes every later hash so the chain links
    again; only the checkpoints, signed with a key outside the database, betray it."""
    _append(platform, 6)

    with platform.sessions() as session:
        records = [
            {name: getattr(r, name) for name in HASHED_FIELDS}
            for r in session.scalars(select(AuditRecord).order_by(AuditRecord.seq))
        ]

    def rewrite(c: Connection) -> None:
        prev = "0" * 64
        for fields in records:
            fields["prev_hash"] = prev
            if fields["seq"] == 2:
                fields["summary"] = "harmless"
            new_hash = record_hash(fields)
            c.execute(
                text(
                    "UPDATE audit_records SET summary = :s, prev_hash = :p, hash = :h "
                    "WHERE seq = :q"
                ),
                {"s": fields["summary"], "p": prev, "h": new_hash, "q": fields["seq"]},
            )
            prev = new_hash
        c.execute(text("UPDATE audit_head SET last_hash = :h"), {"h": prev})

    _tamper(platform, rewrite)
    problems = _verify(platform)
    assert not any("edited" in p or "does not link" in p for p in problems), problems
    assert any("history rewritten" in p for p in problems), problems


def test_forged_checkpoint_is_detected(platform: Platform) -> None:
    _append(platform, 3)
    _tamper(
        platform,
        lambda c: c.execute(
            text("UPDATE audit_checkpoints SET signature = :s WHERE seq = 2"), {"s": "00" * 64}
        ),
    )
    assert any("signature invalid" in p for p in _verify(platform))


def test_truncated_tail_without_checkpoint_is_detected(platform: Platform) -> None:
    _append(platform, 4)

    def truncate(c: Connection) -> None:
        c.execute(text("DELETE FROM audit_checkpoints WHERE seq >= 3"))
        c.execute(text("DELETE FROM audit_records WHERE seq = 4"))

    _tamper(platform, truncate)
    problems = _verify(platform)
    assert any("chain head says record 4" in p for p in problems), problems
