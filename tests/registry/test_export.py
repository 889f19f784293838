"""Export in import format: credentials withheld, spreadsheet formulas neutralised, and an
export imported back changes nothing (the stored credentials survive the round trip)."""

from __future__ import annotations

import csv
import io

import pytest
import yaml
from sqlalchemy import select

from safecity.identity.system import system_principal
from safecity.registry.models import Camera
from safecity.registry.schemas import CameraCreate
from safecity.registry.transfer import Format
from safecity.web.platform import Platform
from tests.factories import World
from tests.registry.helpers import export, run_import, stored_url

MASKED = CameraCreate(
    code="PSH-M1",
    site="PSH-T1",
    name="School gate",
    ownership="school",
    owner="Government High School No. 1",
    main_stream_url="rtsp://admin:m4sk-pass@10.0.0.7:554/ch1",
    sub_stream_url="rtsp://admin:m4sk-pass@10.0.0.7:554/ch2",
    resolution="2560x1440",
    fps=15,
    codec="h265",
    ptz=True,
    privacy_masks=[{"points": [[0.6, 0.1], [0.9, 0.1], [0.9, 0.4]], "label": "houses"}],
    status="online",
    latitude=34.0102,
    longitude=71.5203,
)


@pytest.fixture
def cameras(platform: Platform, world: World) -> World:
    with platform.transaction() as session:
        platform.registry.create_camera(session, system_principal("tests"), MASKED)
    return world


@pytest.mark.parametrize("fmt", ["csv", "yaml"])
def test_export_never_contains_a_password(platform: Platform, cameras: World, fmt: Format) -> None:
    text = export(platform, fmt)
    for secret in ("s3cret", "m4sk-pass", "admin:"):
        assert secret not in text
    assert "rtsp://***@10.0.0.1:554/ch1" in text
    assert "rtsp://***@10.0.0.7:554/ch2" in text


@pytest.mark.parametrize("fmt", ["csv", "yaml"])
def test_round_trip_changes_nothing_and_keeps_credentials(
    platform: Platform, cameras: World, fmt: Format
) -> None:
    with platform.sessions() as session:
        versions = {c.code: c.version for c in session.scalars(select(Camera))}
    report = run_import(platform, export(platform, fmt).encode(), fmt)
    assert report.problems == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
    assert stored_url(platform, "PSH-TC1") == "rtsp://admin:s3cret-PSH-TC1@10.0.0.1:554/ch1"
    assert stored_url(platform, "PSH-M1", "sub") == "rtsp://admin:m4sk-pass@10.0.0.7:554/ch2"
    with platform.sessions() as session:
        assert {c.code: c.version for c in session.scalars(select(Camera))} == versions
        camera = session.scalars(select(Camera).where(Camera.code == "PSH-M1")).one()
        assert camera.privacy_masks == [
            {"points": [[0.6, 0.1], [0.9, 0.1], [0.9, 0.4]], "label": "houses"}
        ]
        assert camera.owner is not None
        assert camera.owner.name == "Government High School No. 1"


def test_withheld_url_for_another_stream_is_refused(platform: Platform, cameras: World) -> None:
    text = export(platform, "csv").replace("rtsp://***@10.0.0.7:554/ch1", "rtsp://***@10.9.9.9/x")
    report = run_import(platform, text.encode())
    assert [(p.field, p.message.split(";")[0]) for p in report.problems] == [
        (
            "main_stream_url",
            "credentials were withheld in this URL and it differs from the stored stream",
        )
    ]
    assert stored_url(platform, "PSH-M1") == "rtsp://admin:m4sk-pass@10.0.0.7:554/ch1"


def test_yaml_export_is_valid_import_format(platform: Platform, cameras: World) -> None:
    loaded = yaml.safe_load(export(platform, "yaml"))
    by_code = {row["code"]: row for row in loaded["cameras"]}
    assert set(by_code) == {"PSH-TC1", "PSH-TC2", "BNU-TC1", "PSH-M1"}
    masked = by_code["PSH-M1"]
    assert masked["resolution"] == "2560x1440"
    assert masked["privacy_masks"] == [
        {"points": [[0.6, 0.1], [0.9, 0.1], [0.9, 0.4]], "label": "houses"}
    ]
    assert masked["district"] == "peshawar"


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("Plain name", "Plain name"),
    ],
)
def test_csv_export_neutralises_formulas(
    platform: Platform, world: World, name: str, cell: str
) -> None:
    with platform.transaction() as session:
        platform.registry.create_camera(
            session,
            system_principal("tests"),
            CameraCreate(code="PSH-F1", site="PSH-T1", name=name, vendor=name),
        )
    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(export(platform, "csv")))}
    assert rows["PSH-F1"]["name"] == cell
    assert rows["PSH-F1"]["vendor"] == cell
    # Only text is quoted; numbers and URLs stay what they are.
    assert rows["PSH-TC1"]["longitude"] == "71.52"
    assert rows["PSH-TC1"]["main_stream_url"] == "rtsp://***@10.0.0.1:554/ch1"


def test_guarded_cells_import_back_as_the_original_text(platform: Platform, world: World) -> None:
    name = '=HYPERLINK("http://evil.example","x")'
    with platform.transaction() as session:
        platform.registry.create_camera(
            session,
            system_principal("tests"),
            CameraCreate(code="PSH-F1", site="PSH-T1", name=name, vendor="-vendor-"),
        )
    report = run_import(platform, export(platform, "csv").encode(), "csv")
    assert report.problems == []
    assert (report.created, report.updated) == (0, 0), "the apostrophe is not part of the name"
    with platform.sessions() as session:
        camera = session.scalars(select(Camera).where(Camera.code == "PSH-F1")).one()
        assert (camera.name, camera.vendor) == (name, "-vendor-")
