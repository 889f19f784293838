"""Every registry change is audited with before/after and announced through the outbox, and
neither the audit log nor the bus message ever carries a stream credential."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.db.outbox import OutboxMessage
from safecity.identity.system import system_principal
from safecity.registry.models import Camera
from safecity.registry.schemas import CameraUpdate, SiteCreate
from safecity.web.platform import Platform
from tests.factories import World
from tests.registry.helpers import counts, csv_bytes, run_import, stored_url

HEADER = "code,name,district,site,site_name,site_type,site_latitude,site_longitude,main_stream_url"
ROW = (
    "PSH-A1,Audit gate,peshawar,PSH-AS1,Audit site,intersection,34.01,71.52,"
    "rtsp://admin:Hunter2-secret@10.2.0.1:554/ch1"
)
SECRETS = ("Hunter2-secret", "admin:", "rtsp://admin")


def _records(platform: Platform, code: str) -> list[AuditRecord]:
    with platform.sessions() as session:
        camera_id = session.scalars(select(Camera.id).where(Camera.code == code)).one()
        return list(
            session.scalars(
                select(AuditRecord)
                .where(AuditRecord.object_type == "camera")
                .where(AuditRecord.object_id == str(camera_id))
                .order_by(AuditRecord.seq)
            )
        )


def _messages(platform: Platform, code: str) -> list[dict[str, Any]]:
    with platform.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.subject == "registry.camera.changed")
            .order_by(OutboxMessage.id)
        )
        return [row.payload for row in rows if row.payload["code"] == code]


def _assert_no_secret(value: object) -> None:
    text = json.dumps(value, default=str)
    for secret in SECRETS:
        assert secret not in text


def test_created_camera_is_audited_and_announced(platform: Platform) -> None:
    run_import(platform, csv_bytes(HEADER, ROW))
    (record,) = _records(platform, "PSH-A1")
    assert (record.action, record.district, record.before) == ("create", "peshawar", None)
    assert record.after is not None
    assert record.after["main_stream"] == "rtsp://***@10.2.0.1:554/ch1"
    assert record.after["site"] == "PSH-AS1"
    _assert_no_secret([record.before, record.after, record.summary])
    (message,) = _messages(platform, "PSH-A1")
    assert message["change"] == "created"
    assert message["district"] == "peshawar"
    assert message["has_main_stream"] is True
    _assert_no_secret(message)
    with platform.sessions() as session:
        site_messages = session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.subject == "registry.site.changed")
        ).all()
    assert [(m["code"], m["change"]) for m in site_messages] == [("PSH-AS1", "created")]


def test_updated_camera_records_before_and_after(platform: Platform, world: World) -> None:
    with platform.transaction() as session:
        platform.registry.update_camera(
            session,
            system_principal("tests"),
            world.cameras["PSH-TC1"],
            CameraUpdate(status="maintenance", fps=10),
            expected_version=None,
        )
    create, update = _records(platform, "PSH-TC1")
    assert create.action == "create"
    assert update.action == "update"
    assert update.before is not None
    assert update.after is not None
    assert (update.before["status"], update.after["status"]) == ("online", "maintenance")
    assert (update.before["fps"], update.after["fps"]) == (None, 10)
    _assert_no_secret([update.before, update.after])
    assert "s3cret" not in json.dumps([update.before, update.after])
    assert [m["change"] for m in _messages(platform, "PSH-TC1")] == ["created", "updated"]


def test_import_update_is_audited_like_any_update(platform: Platform) -> None:
    run_import(platform, csv_bytes(HEADER, ROW))
    run_import(platform, csv_bytes(HEADER, ROW.replace("Audit gate", "Audit gate east")))
    _, update = _records(platform, "PSH-A1")
    assert update.before is not None
    assert update.after is not None
    assert (update.before["name"], update.after["name"]) == ("Audit gate", "Audit gate east")
    assert [m["change"] for m in _messages(platform, "PSH-A1")] == ["created", "updated"]


def test_unchanged_reimport_writes_no_change_record(platform: Platform) -> None:
    run_import(platform, csv_bytes(HEADER, ROW))
    before = counts(platform)
    report = run_import(platform, csv_bytes(HEADER, ROW))
    assert report.unchanged == 1
    assert counts(platform) == before


def test_new_password_alone_is_stored_audited_and_announced(platform: Platform) -> None:
    run_import(platform, csv_bytes(HEADER, ROW))
    report = run_import(platform, csv_bytes(HEADER, ROW.replace("Hunter2-secret", "Rotated-99")))
    # The display form is the same, yet the credentials changed: that is an update.
    assert (report.updated, report.unchanged) == (1, 0)
    assert stored_url(platform, "PSH-A1") == "rtsp://admin:Rotated-99@10.2.0.1:554/ch1"
    _, update = _records(platform, "PSH-A1")
    assert update.summary == "updated camera PSH-A1 (stream credentials changed)"
    assert "Rotated-99" not in json.dumps([update.before, update.after, update.summary])
    messages = _messages(platform, "PSH-A1")
    assert [m["change"] for m in messages] == ["created", "updated"]
    assert "Rotated-99" not in json.dumps(messages)


def test_site_creation_is_audited(platform: Platform) -> None:
    with platform.transaction() as session:
        site = platform.registry.create_site(
            session,
            system_principal("tests"),
            SiteCreate(
                code="KRK-S1",
                name="Karak chowk",
                district="karak",
                site_type="intersection",
                latitude=33.12,
                longitude=71.09,
            ),
        )
        site_id = site.id
    with platform.sessions() as session:
        record = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.object_type == "site")
            .where(AuditRecord.object_id == str(site_id))
        ).one()
    assert (record.action, record.district) == ("create", "karak")
    assert record.after is not None
    assert record.after["code"] == "KRK-S1"
