"""Bulk import: each row stands alone, is reported by its line and field, and a rejected row
leaves nothing behind (neither its camera nor the site it would have created)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from safecity.audit.log import verify_chain
from safecity.audit.models import AuditRecord
from safecity.core.errors import InvalidInput, PermissionDenied
from safecity.registry.models import Camera
from safecity.registry.transfer import parse
from safecity.web.platform import Platform
from tests.factories import World, make_user
from tests.registry.helpers import (
    camera_codes,
    csv_bytes,
    problems,
    run_import,
    site_codes,
    stored_url,
)

HEADER = (
    "code,name,district,site,site_name,site_type,site_latitude,site_longitude,"
    "main_stream_url,resolution,fps"
)
GOOD_1 = (
    "PSH-I1,Gate 1,peshawar,PSH-IS1,Import site 1,intersection,34.01,71.52,"
    "rtsp://admin:pw-one@10.1.0.1:554/ch1,1920x1080,12"
)
GOOD_6 = "PSH-I6,Gate 6,peshawar,PSH-IS1,,,,,rtsp://admin:pw-six@10.1.0.6/ch1,,"
MIXED = [
    HEADER,  # 1
    GOOD_1,  # 2: creates its site
    "PSH-I2,Gate 2,peshawar,PSH-IS2,Import site 2,intersection,34.02,71.53,,big,",  # 3
    "",  # 4: blank lines are skipped but still counted
    "PSH-I3,Gate 3,peshawar,PSH-IS3,Import site 3,stadium,34.03,71.54,,,",  # 5
    "PSH-I4,Gate 4,peshawar,PSH-IS4,Import site 4,market,34.04,71.55,ftp://10.1.0.4/x,,",  # 6
    "PSH-I5,Gate 5,peshawar,PSH-IS1,,,,,,,500",  # 7
    GOOD_6,  # 8: uses the site row 2 created
    "PSH-I7,Gate 7,bannu,PSH-IS1,,,,,,,",  # 9: the site is in Peshawar
    "PSH-I8,Gate 8,,PSH-IS8,,,,,,,",  # 10: new site without its details
    # 11: the site is valid and made first; the camera then fails, taking the site with it.
    "PSH-I9,Gate 9,peshawar,PSH-IS9,Import site 9,market,34.05,71.56,rtsp://***@10.1.0.9/x,,",
]
EXPECTED_PROBLEMS = [
    (3, "resolution"),
    (5, "site_type"),
    (6, "main_stream_url"),
    (7, "fps"),
    (9, "district"),
    (10, "site"),
    (11, "main_stream_url"),
]


def test_bad_rows_are_reported_and_good_rows_kept(platform: Platform) -> None:
    report = run_import(platform, csv_bytes(*MIXED))
    assert problems(report) == EXPECTED_PROBLEMS
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert report.failed == 7
    assert report.sites_created == 1
    assert camera_codes(platform, "PSH-I") == {"PSH-I1", "PSH-I6"}
    assert site_codes(platform, "PSH-IS") == {"PSH-IS1"}
    messages = {p.row: p.message for p in report.problems}
    assert messages[3] == "resolution must look like 1920x1080"
    assert "site PSH-IS1 is in peshawar, not bannu" in messages[9]
    assert "district, site_name, site_type, site_latitude, site_longitude" in messages[10]


def test_good_rows_are_stored_as_given(platform: Platform) -> None:
    run_import(platform, csv_bytes(*MIXED))
    with platform.sessions() as session:
        camera = session.scalars(select(Camera).where(Camera.code == "PSH-I1")).one()
        assert (camera.name, camera.site.code, camera.district.slug) == (
            "Gate 1",
            "PSH-IS1",
            "peshawar",
        )
        assert (camera.resolution_width, camera.resolution_height, camera.fps) == (1920, 1080, 12)
        assert camera.main_stream_display == "rtsp://***@10.1.0.1:554/ch1"
        assert "pw-one" not in (camera.main_stream_enc or "")
        assert camera.site.rollout_status == "installed"
    assert stored_url(platform, "PSH-I1") == "rtsp://admin:pw-one@10.1.0.1:554/ch1"


def test_rejected_rows_leave_the_audit_chain_intact(platform: Platform) -> None:
    run_import(platform, csv_bytes(*MIXED))
    with platform.sessions() as session:
        report = verify_chain(session, platform.keys.audit_verify_key())
        summary = session.scalars(
            select(AuditRecord.summary).where(AuditRecord.action == "import")
        ).one()
    assert report.ok, report.problems
    assert summary == "camera import: 2 created, 0 updated, 0 unchanged, 7 rows rejected"


def test_reimport_reports_unchanged_then_updated(platform: Platform) -> None:
    run_import(platform, csv_bytes(*MIXED))
    again = run_import(platform, csv_bytes(*MIXED))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert problems(again) == EXPECTED_PROBLEMS
    assert again.sites_created == 0

    renamed = [GOOD_1.replace("Gate 1", "North Gate"), GOOD_6]
    changed = run_import(platform, csv_bytes(HEADER, *renamed))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    assert changed.problems == []
    with platform.sessions() as session:
        camera = session.scalars(select(Camera).where(Camera.code == "PSH-I1")).one()
        assert camera.name == "North Gate"
        assert camera.fps == 12  # a column left out of a row keeps the stored value


def test_reimport_does_not_touch_unchanged_rows(platform: Platform) -> None:
    run_import(platform, csv_bytes(HEADER, GOOD_1))
    with platform.sessions() as session:
        version = session.scalars(select(Camera.version).where(Camera.code == "PSH-I1")).one()
    run_import(platform, csv_bytes(HEADER, GOOD_1))
    with platform.sessions() as session:
        after = session.scalars(select(Camera.version).where(Camera.code == "PSH-I1")).one()
    # Encrypting the same URL again gives new ciphertext; that must not count as a change.
    assert after == version


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("code,name,site,colour", "unknown column(s) colour"),
        ("code,name,site,Site Name", "unknown column(s) Site Name"),
        ("code,name", "missing column(s) site"),
        ("name,site", "missing column(s) code"),
    ],
)
def test_bad_header_rejects_the_file_with_a_row_1_error(header: str, reason: str) -> None:
    data = csv_bytes(header, ",".join(["PSH-X1", "x", "PSH-T1", "y"][: header.count(",") + 1]))
    with pytest.raises(InvalidInput) as caught:
        parse(data, "csv")
    assert caught.value.message.startswith("row 1: ")
    assert reason in caught.value.message
    assert caught.value.field == "header"


@pytest.mark.parametrize("data", [b"", b"\n"])
def test_empty_file_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput, match="row 1: the CSV file is empty"):
        parse(data, "csv")


def test_non_utf8_file_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not UTF-8") as caught:
        parse(b"code,name,site\nPSH-X1,Caf\xe9,PSH-T1\n", "csv")
    assert caught.value.field == "file"


def test_spreadsheet_byte_order_mark_and_padding_are_accepted(
    platform: Platform, world: World
) -> None:
    data = b"\xef\xbb\xbf" + csv_bytes(" code , name ,site", "PSH-X1,Padded,PSH-T1")
    report = run_import(platform, data)
    assert (report.created, report.problems) == (1, [])


def test_row_with_too_many_values_is_reported(platform: Platform, world: World) -> None:
    report = run_import(
        platform, csv_bytes("code,name,site", "PSH-X1,One,PSH-T1", "PSH-X2,Two,PSH-T1,extra")
    )
    assert report.created == 1
    assert [(p.row, p.message) for p in report.problems] == [(3, "more values than columns")]


def test_quoted_line_breaks_keep_row_numbers_on_file_lines(
    platform: Platform, world: World
) -> None:
    data = csv_bytes("code,name,site,purpose", 'PSH-X1,One,PSH-T1,"two\nlines"', "PSH-X2,,PSH-T1,")
    report = run_import(platform, data)
    assert problems(report) == [(4, "name")]


YAML = b"""\
cameras:
  - code: BNU-Y1
    name: Bannu gate
    district: bannu
    site: BNU-YS1
    site_name: Lakki Gate
    site_type: entry_exit_point
    site_latitude: 32.99
    site_longitude: 70.61
    privacy_masks:
      - points: [[0.1, 0.1], [0.5, 0.1], [0.3, 0.4]]
        label: houses
  - code: BNU-Y2
    name: Bannu market
    site: BNU-YS1
    fps: lots
  - code: BNU-Y3
    name: Bannu school
    site: BNU-YS1
    ownership: school
  - just a string
"""


def test_yaml_rows_are_reported_by_line(platform: Platform) -> None:
    report = run_import(platform, YAML, "yaml")
    assert problems(report) == [(13, "fps"), (17, None), (21, None)]
    messages = [p.message for p in report.problems]
    assert messages[1] == "a school camera needs an owner"
    assert messages[2] == "each camera must be a mapping of field: value"
    assert (report.created, report.sites_created) == (1, 1)
    with platform.sessions() as session:
        camera = session.scalars(select(Camera).where(Camera.code == "BNU-Y1")).one()
        assert camera.privacy_masks == [
            {"points": [[0.1, 0.1], [0.5, 0.1], [0.3, 0.4]], "label": "houses"}
        ]
    again = run_import(platform, YAML, "yaml")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"cameras: [\n", "line 2: YAML syntax error"),
        (b"name: x\n", "line 1: expected a list of cameras or a 'cameras:' key"),
        (b"cameras: []\nother: 1\n", "line 1: expected a list of cameras or a 'cameras:' key"),
        (b"just text\n", "line 1: expected a list of cameras"),
    ],
)
def test_bad_yaml_rejects_the_file(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(data, "yaml")
    assert caught.value.message.startswith(reason)


SCOPED = [
    "code,name,district,site,site_name,site_type,site_latitude,site_longitude",
    "PSH-E1,Peshawar cam,peshawar,PSH-ES1,Eng site,market,34.0,71.5",  # 2: in scope
    "BNU-E1,Bannu cam,bannu,BNU-ES1,Eng site B,market,33.0,70.6",  # 3: district out of scope
    "BNU-E2,Bannu cam 2,,BNU-T1,,,,",  # 4: existing site out of scope
    "BNU-TC1,Renamed by import,,PSH-T1,,,,",  # 5: existing camera out of scope
    "PSH-E2,Peshawar cam 2,,PSH-T1,,,,",  # 6: existing site in scope
]


def test_rows_outside_the_importers_scope_are_refused_one_by_one(
    platform: Platform, world: World
) -> None:
    engineer = make_user(platform, "eng-psh", ["engineer"], districts=["peshawar"])
    report = run_import(platform, csv_bytes(*SCOPED), principal=engineer)
    assert problems(report) == [(3, "district"), (4, "site"), (5, "code")]
    messages = [p.message for p in report.problems]
    assert messages[0] == "district 'bannu' is outside your scope"
    # The site exists, but its district is not the importer's to learn.
    assert messages[1] == "site 'BNU-T1' is outside your scope"
    assert "bannu" not in messages[1]
    assert messages[2] == "camera 'BNU-TC1' is outside your scope"
    assert str(world.cameras["BNU-TC1"]) not in messages[2]
    assert (report.created, report.sites_created) == (2, 1)
    assert camera_codes(platform, "PSH-E") == {"PSH-E1", "PSH-E2"}
    assert camera_codes(platform, "BNU-E") == set()
    assert site_codes(platform, "BNU-ES") == set()
    with platform.sessions() as session:
        bannu = session.get(Camera, world.cameras["BNU-TC1"])
        assert bannu is not None
        assert bannu.name == "Camera BNU-TC1"
        actor = session.scalars(
            select(AuditRecord.actor_name).where(AuditRecord.action == "import")
        ).one()
    assert actor == "eng-psh"


def test_import_needs_the_import_permission(platform: Platform, world: World) -> None:
    operator = make_user(platform, "op-psh", ["operator"], districts=["peshawar"])
    with pytest.raises(PermissionDenied, match=r"cameras\.import"):
        run_import(platform, csv_bytes("code,name,site", "PSH-X1,x,PSH-T1"), principal=operator)
    assert camera_codes(platform, "PSH-X") == set()
