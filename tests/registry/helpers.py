"""Small readers over the registry tables, shared by the registry tests."""

from __future__ import annotations

from sqlalchemy import func, select

from safecity.audit.models import AuditRecord
from safecity.db.outbox import OutboxMessage
from safecity.identity.permissions import Principal
from safecity.identity.system import system_principal
from safecity.registry.models import Camera, Site
from safecity.registry.schemas import ImportReport
from safecity.registry.service import CameraFilter
from safecity.registry.transfer import Format, export_rows, parse, render
from safecity.web.platform import Platform


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def run_import(
    platform: Platform, data: bytes, fmt: Format = "csv", principal: Principal | None = None
) -> ImportReport:
    with platform.transaction() as session:
        return platform.importer.run(
            session, principal or system_principal("tests"), parse(data, fmt)
        )


def export(platform: Platform, fmt: Format) -> str:
    with platform.transaction() as session:
        cameras = platform.registry.all_cameras(session, system_principal("tests"), CameraFilter())
        return render(export_rows(cameras), fmt)


def camera_codes(platform: Platform, prefix: str = "") -> set[str]:
    with platform.sessions() as session:
        return set(session.scalars(select(Camera.code).where(Camera.code.startswith(prefix))))


def site_codes(platform: Platform, prefix: str = "") -> set[str]:
    with platform.sessions() as session:
        return set(session.scalars(select(Site.code).where(Site.code.startswith(prefix))))


def problems(report: ImportReport) -> list[tuple[int, str | None]]:
    return [(p.row, p.field) for p in report.problems]


def stored_url(platform: Platform, code: str, which: str = "main") -> str | None:
    with platform.sessions() as session:
        camera = session.scalars(select(Camera).where(Camera.code == code)).one()
        token = getattr(camera, f"{which}_stream_enc")
        return None if token is None else platform.cipher.decrypt(token)


def counts(platform: Platform) -> tuple[int, int]:
    """(audit records of changes, outbox rows): what a real change adds to and a no-op must not."""
    with platform.sessions() as session:
        changes = AuditRecord.action.in_(("create", "update", "delete"))
        audit = session.scalar(select(func.count()).where(changes)) or 0
        outbox = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        return audit, outbox
