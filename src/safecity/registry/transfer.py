"""Bulk camera import and export as CSV or YAML.

Each row stands alone: a bad row is reported with its row number (or YAML line)
and field, and is rolled back by itself; the good rows are kept.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.core.csvcells import guard_cell, unguard_cell
from safecity.core.errors import InvalidInput, SafecityError
from safecity.identity.permissions import Principal, in_scope, restrict
from safecity.registry.models import Camera, Site
from safecity.registry.schemas import (
    CameraCreate,
    CameraUpdate,
    ImportProblem,
    ImportReport,
    Latitude,
    Longitude,
    SiteCreate,
)
from safecity.registry.service import RegistryService

Format = Literal["csv", "yaml"]

COLUMNS = (
    "code",
    "name",
    "district",
    "site",
    "site_name",
    "site_type",
    "site_latitude",
    "site_longitude",
    "ownership",
    "owner",
    "vendor",
    "make",
    "model",
    "main_stream_url",
    "sub_stream_url",
    "resolution",
    "fps",
    "codec",
    "recording_mode",
    "ptz",
    "purpose",
    "legal_basis",
    "status",
    "latitude",
    "longitude",
    "privacy_masks",
)
REQUIRED_COLUMNS = ("code", "name", "site")


class CameraImportRow(CameraCreate):
    """A camera row; the site_* columns create the site when its code is new."""

    district: str | None = Field(None, description="District slug (needed to create a site)")
    site_name: str | None = Field(None, description="Name for a new site")
    site_type: str | None = Field(None, description="Type for a new site")
    site_latitude: Latitude | None = None
    site_longitude: Longitude | None = None


@dataclass(frozen=True)
class SourceRow:
    number: int  # CSV: line in the file (header is 1); YAML: line of the item
    values: dict[str, Any]


def detect_format(filename: str) -> Format:
    lower = filename.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    raise InvalidInput(f"'{filename}': use a .csv, .yaml or .yml file", field="file")


def parse(data: bytes, fmt: Format) -> list[SourceRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the file is not UTF-8 text (byte {exc.start})", field="file") from exc
    return list(_parse_csv(text) if fmt == "csv" else _parse_yaml(text))


def _parse_csv(text: str) -> Iterator[SourceRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    if not header:
        raise InvalidInput("row 1: the CSV file is empty or has no header", field="file")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise InvalidInput(
            f"row 1: unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}",
            field="header",
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InvalidInput(f"row 1: missing column(s) {', '.join(missing)}", field="header")
    reader.fieldnames = header
    for record in reader:
        line = reader.line_num
        if None in record:
            yield SourceRow(line, {"__error__": "more values than columns"})
            continue
        # A cell the export guarded against formula injection reads back as its value.
        values = {
            k: unguard_cell(v) for k, v in record.items() if v is not None and v.strip() != ""
        }
        if values:
            yield SourceRow(line, values)


def _parse_yaml(text: str) -> Iterator[SourceRow]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise InvalidInput(f"line {line}: YAML syntax error: {exc.problem}", field="file") from exc
    if isinstance(root, yaml.MappingNode):
        items = [value for key, value in root.value if key.value == "cameras"]
        others = [key.value for key, _ in root.value if key.value != "cameras"]
        if others or not items:
            raise InvalidInput(
                "line 1: expected a list of cameras or a 'cameras:' key", field="file"
            )
        root = items[0]
    if not isinstance(root, yaml.SequenceNode):
        raise InvalidInput("line 1: expected a list of cameras", field="file")
    for node in root.value:
        line = node.start_mark.line + 1
        value = yaml.safe_load(yaml.serialize(node))
        if not isinstance(value, dict):
            yield SourceRow(line, {"__error__": "each camera must be a mapping of field: value"})
            continue
        if isinstance(value.get("privacy_masks"), list):
            value["privacy_masks"] = json.dumps(value["privacy_masks"])
        yield SourceRow(line, {str(k): v for k, v in value.items()})


class CameraImporter:
    def __init__(self, registry: RegistryService) -> None:
        self.registry = registry

    def run(
        self, session: Session, principal: Principal, rows: Iterable[SourceRow]
    ) -> ImportReport:
        principal.require("cameras.import")
        principal.require("cameras.change")
        report = ImportReport()
        for row in rows:
            savepoint = session.begin_nested()
            # A rejected row rolls back the site it created too, so it must not count it.
            sites_before = report.sites_created
            try:
                outcome = self._one(session, principal, row, report)
            except ValidationError as exc:
                savepoint.rollback()
                report.sites_created = sites_before
                for error in exc.errors():
                    field = ".".join(str(p) for p in error["loc"]) or None
                    message = error["msg"].removeprefix("Value error, ")
                    report.problems.append(
                        ImportProblem(row=row.number, field=field, message=message)
                    )
                continue
            except SafecityError as exc:
                savepoint.rollback()
                report.sites_created = sites_before
                report.problems.append(
                    ImportProblem(row=row.number, field=exc.field, message=exc.message)
                )
                continue
            savepoint.commit()
            setattr(report, outcome, getattr(report, outcome) + 1)
        self.registry.audit.append(
            session,
            principal.audit,
            action="import",
            object_type="camera",
            summary=(
                f"camera import: {report.created} created, {report.updated} updated, "
                f"{report.unchanged} unchanged, {report.failed} rows rejected"
            ),
        )
        return report

    def _one(
        self, session: Session, principal: Principal, row: SourceRow, report: ImportReport
    ) -> str:
        if "__error__" in row.values:
            raise InvalidInput(str(row.values["__error__"]))
        data = CameraImportRow.model_validate(row.values)
        site = session.scalars(
            restrict(Site, principal, "sites.view").where(Site.code == data.site)
        ).first()
        if site is None:
            if session.scalars(select(Site.id).where(Site.code == data.site)).first():
                # Its district is not ours to learn: say only that it is out of reach.
                raise InvalidInput(f"site '{data.site}' is outside your scope", field="site")
            self._create_site(session, principal, data)
            report.sites_created += 1
        elif data.district and site.district.slug != data.district:
            raise InvalidInput(
                f"site {site.code} is in {site.district.slug}, not {data.district}",
                field="district",
            )
        camera_fields = data.model_dump(
            exclude={"district", "site_name", "site_type", "site_latitude", "site_longitude"},
            exclude_unset=True,
        )
        existing = session.scalars(select(Camera).where(Camera.code == data.code)).first()
        if existing is None:
            self.registry.create_camera(
                session, principal, CameraCreate.model_validate(camera_fields)
            )
            return "created"
        if not in_scope(session, existing, principal):
            # Said by code: the generic "camera <id> not found" would leak the row id.
            raise InvalidInput(f"camera '{data.code}' is outside your scope", field="code")
        version = existing.version
        camera = self.registry.update_camera(
            session,
            principal,
            existing.id,
            _update_from(camera_fields),
            expected_version=None,
        )
        # Every stored change bumps the version, credentials included (the snapshot
        # leaves those out).
        return "unchanged" if camera.version == version else "updated"

    def _create_site(self, session: Session, principal: Principal, data: CameraImportRow) -> None:
        missing = [
            name
            for name in ("district", "site_name", "site_type", "site_latitude", "site_longitude")
            if getattr(data, name) in (None, "")
        ]
        if missing:
            raise InvalidInput(
                f"site '{data.site}' does not exist; to create it give {', '.join(missing)}",
                field="site",
            )
        self.registry.create_site(
            session,
            principal,
            SiteCreate(
                code=data.site,
                name=str(data.site_name),
                district=str(data.district),
                site_type=data.site_type,
                latitude=data.site_latitude,
                longitude=data.site_longitude,
                rollout_status="installed",
            ),
        )


def _update_from(fields: dict[str, Any]) -> CameraUpdate:
    values = {k: v for k, v in fields.items() if k != "code"}
    return CameraUpdate.model_validate(values)


def export_rows(cameras: Iterable[Camera]) -> list[dict[str, Any]]:
    """Rows in import format; stream credentials are withheld (``***@``)."""
    rows = []
    for camera in cameras:
        resolution = (
            f"{camera.resolution_width}x{camera.resolution_height}"
            if camera.resolution_width and camera.resolution_height
            else ""
        )
        rows.append(
            {
                "code": camera.code,
                "name": camera.name,
                "district": camera.district.slug,
                "site": camera.site.code,
                "ownership": camera.ownership,
                "owner": camera.owner.name if camera.owner else "",
                "vendor": camera.vendor,
                "make": camera.make,
                "model": camera.model,
                "main_stream_url": camera.main_stream_display,
                "sub_stream_url": camera.sub_stream_display,
                "resolution": resolution,
                "fps": camera.fps if camera.fps is not None else "",
                "codec": camera.codec,
                "recording_mode": camera.recording_mode,
                "ptz": "yes" if camera.ptz else "no",
                "purpose": camera.purpose,
                "legal_basis": camera.legal_basis,
                "status": camera.status,
                "latitude": camera.latitude if camera.latitude is not None else "",
                "longitude": camera.longitude if camera.longitude is not None else "",
                "privacy_masks": camera.privacy_masks or [],
            }
        )
    return rows


def render(rows: list[dict[str, Any]], fmt: Format) -> str:
    if fmt == "yaml":
        cleaned = [{k: v for k, v in row.items() if v not in ("", [], None)} for row in rows]
        return yaml.safe_dump({"cameras": cleaned}, sort_keys=False, allow_unicode=True)
    buffer = io.StringIO()
    columns = [
        c for c in COLUMNS if c not in ("site_name", "site_type", "site_latitude", "site_longitude")
    ]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        out = dict(row)
        out["privacy_masks"] = json.dumps(row["privacy_masks"]) if row["privacy_masks"] else ""
        writer.writerow({k: guard_cell(v) for k, v in out.items()})
    return buffer.getvalue()
