"""Plate reads: stored once, searched exactly, by wildcard and by OCR-confusable fuzzy
match, only inside the searcher's scope, each search audited with its stated purpose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.core.clock import utcnow
from safecity.core.errors import InvalidInput, NotFound, PermissionDenied
from safecity.events.models import PlateReadRecord
from safecity.events.plates import SearchMode
from safecity.events.service import PlateSearch
from safecity.web.platform import Platform
from tests.events.helpers import plate_read, store_read
from tests.factories import World, make_user

PURPOSE = "FIR 77/2026 Hayatabad car theft"


def _texts(
    platform: Platform,
    username: str,
    term: str | None,
    mode: SearchMode = "wildcard",
    **filters: object,
) -> list[str]:
    from tests.factories import principal_of

    principal = principal_of(platform, username)
    with platform.transaction() as session:
        rows, total = platform.events.search_plates(
            session,
            principal,
            PlateSearch(plate=term, mode=mode, **filters),  # type: ignore[arg-type]
            purpose=PURPOSE,
        )
        assert total == len(rows)
        return sorted(r.text for r in rows)


def _last_search_audit(platform: Platform) -> AuditRecord:
    with platform.sessions() as session:
        record = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.object_type == "plate_read", AuditRecord.action == "search")
            .order_by(AuditRecord.seq.desc())
        ).first()
    assert record is not None
    return record


@pytest.fixture
def reads(platform: Platform, world: World) -> dict[str, int]:
    stored = {}
    for camera, text, minutes in (
        ("PSH-TC1", "LEB3656", 5),
        ("PSH-TC1", "LEA1234", 10),
        ("PSH-TC2", "LE83656", 15),  # B misread as 8
        ("PSH-TC2", "LES19", 20),
        ("PSH-TC1", "PKA123", 600),
        ("BNU-TC1", "LEB3656", 3),  # the same car, out of a Peshawar user's scope
        ("BNU-TC1", "BNU777", 3),
    ):
        stored[f"{camera}:{text}"] = store_read(
            platform, plate_read(camera, text, minutes_ago=minutes)
        )
    make_user(platform, "psh-inv", ["investigator"], districts=["peshawar"])
    make_user(platform, "everywhere", ["investigator"], all_districts=True)
    return stored


def test_a_redelivered_read_is_stored_once(platform: Platform, world: World) -> None:
    message = plate_read("PSH-TC1", "ABC123")
    first = store_read(platform, message)
    assert store_read(platform, message) == first
    with platform.sessions() as session:
        count = session.scalars(select(PlateReadRecord).where(PlateReadRecord.text == "ABC123"))
        assert len(count.all()) == 1


def test_a_read_from_an_unknown_camera_is_dropped(platform: Platform, world: World) -> None:
    with platform.transaction() as session:
        assert platform.events.store_plate_read(session, plate_read("NOPE-1", "ABC123")) is None


def test_exact_wildcard_and_fuzzy(platform: Platform, reads: dict[str, int]) -> None:
    assert _texts(platform, "psh-inv", "LEB-3656", "exact") == ["LEB3656"]
    assert _texts(platform, "psh-inv", "LE?-12*") == ["LEA1234"]
    assert _texts(platform, "psh-inv", "LE*") == ["LE83656", "LEA1234", "LEB3656", "LES19"]
    assert _texts(platform, "psh-inv", "*3656") == ["LE83656", "LEB3656"]
    assert _texts(platform, "psh-inv", "*36?6") == ["LE83656", "LEB3656"]
    assert _texts(platform, "psh-inv", "*9") == ["LES19"]
    assert _texts(platform, "psh-inv", "LE?3656") == ["LE83656", "LEB3656"]
    # Fuzzy: B/8 (and O/0, I/1, S/5...) are one character to the search.
    assert _texts(platform, "psh-inv", "LEB3656", "fuzzy") == ["LE83656", "LEB3656"]
    assert _texts(platform, "psh-inv", "LE8365G", "fuzzy") == ["LE83656", "LEB3656"]
    assert _texts(platform, "psh-inv", "LE5I9", "fuzzy") == ["LES19"]
    assert _texts(platform, "psh-inv", "LEB3656", "exact") == ["LEB3656"]


def test_percent_and_underscore_are_literals(platform: Platform, reads: dict[str, int]) -> None:
    assert _texts(platform, "psh-inv", "LE%") == []
    assert _texts(platform, "psh-inv", "LE_1234") == []
    assert _texts(platform, "psh-inv", "%") == []
    assert _texts(platform, "psh-inv", "LE\\*") == []
    assert _texts(platform, "psh-inv", "LE%", "fuzzy") == []


def test_filters_by_camera_district_and_time(platform: Platform, reads: dict[str, int]) -> None:
    assert _texts(platform, "psh-inv", None, camera="PSH-TC2") == ["LE83656", "LES19"]
    assert _texts(platform, "everywhere", None, district="bannu") == ["BNU777", "LEB3656"]
    # As people type them: any case, spaces around.
    assert _texts(platform, "psh-inv", None, camera=" psh-tc2") == ["LE83656", "LES19"]
    assert _texts(platform, "everywhere", None, district="Bannu ") == ["BNU777", "LEB3656"]
    # A camera or district that does not exist is a mistake to be told, not "no reads".
    with pytest.raises(InvalidInput, match="no camera has the code PSH-TC9") as unknown:
        _texts(platform, "psh-inv", None, camera="psh-tc9")
    assert unknown.value.field == "camera"
    with pytest.raises(InvalidInput, match="no district is called atlantis"):
        _texts(platform, "everywhere", None, district="Atlantis")
    # Another district's camera or the district itself: the same answer as one that does
    # not exist, so a search tells nothing of what lies outside one's scope.
    with pytest.raises(InvalidInput, match="no camera has the code BNU-TC1 in your districts"):
        _texts(platform, "psh-inv", None, camera="BNU-TC1")
    with pytest.raises(InvalidInput, match="no district is called bannu in your scope"):
        _texts(platform, "psh-inv", None, district="bannu")
    now = utcnow()
    recent = _texts(platform, "psh-inv", None, since=now - timedelta(minutes=12), until=now)
    assert recent == ["LEA1234", "LEB3656"]


def test_a_peshawar_investigator_never_sees_bannu_reads(
    platform: Platform, reads: dict[str, int]
) -> None:
    from tests.factories import principal_of

    assert "BNU777" not in _texts(platform, "psh-inv", None)
    assert _texts(platform, "psh-inv", "LEB3656", "exact") == ["LEB3656"]
    with pytest.raises(InvalidInput, match="no district is called bannu in your scope"):
        _texts(platform, "psh-inv", None, district="bannu")
    assert _texts(platform, "everywhere", "LEB3656", "exact") == ["LEB3656", "LEB3656"]
    principal = principal_of(platform, "psh-inv")
    with platform.transaction() as session, pytest.raises(NotFound):
        platform.events.plate_read(session, principal, reads["BNU-TC1:BNU777"], purpose=PURPOSE)


def test_every_search_is_audited_with_its_purpose_and_needs_one(
    platform: Platform, reads: dict[str, int]
) -> None:
    from tests.factories import principal_of

    principal = principal_of(platform, "psh-inv")
    with platform.transaction() as session:
        platform.events.search_plates(session, principal, PlateSearch(plate="LE*"), purpose=PURPOSE)
    record = _last_search_audit(platform)
    assert (record.actor_name, record.purpose, record.district) == (
        "psh-inv",
        PURPOSE,
        "peshawar",
    )
    assert "LE*" in record.summary, record.summary
    assert "4 found" in record.summary, record.summary
    for missing in (None, "", "  "):
        with platform.transaction() as session, pytest.raises(InvalidInput) as caught:
            platform.events.search_plates(
                session, principal, PlateSearch(plate="LE*"), purpose=missing
            )
        assert caught.value.field == "purpose"


def test_searching_needs_the_permission(platform: Platform, reads: dict[str, int]) -> None:
    engineer = make_user(platform, "eng", ["engineer"], districts=["peshawar"])
    with platform.transaction() as session, pytest.raises(PermissionDenied):
        platform.events.search_plates(session, engineer, PlateSearch(plate="LE*"), purpose=PURPOSE)


def test_a_minimum_confidence_leaves_out_uncertain_reads_and_is_audited(
    platform: Platform, world: World
) -> None:
    from tests.factories import principal_of

    for text, confidence in (("LEB3656", 0.97), ("LE83656", 0.41), ("LEA1234", 0.9)):
        store_read(platform, plate_read("PSH-TC1", text, confidence=confidence))
    make_user(platform, "psh-inv", ["investigator"], districts=["peshawar"])
    assert _texts(platform, "psh-inv", "LE*") == ["LE83656", "LEA1234", "LEB3656"]
    assert _texts(platform, "psh-inv", "LE*", min_confidence=0.9) == ["LEA1234", "LEB3656"]
    assert _texts(platform, "psh-inv", "LEB3656", "fuzzy", min_confidence=0.5) == ["LEB3656"]
    assert _texts(platform, "psh-inv", None, min_confidence=0.0) == [
        "LE83656",
        "LEA1234",
        "LEB3656",
    ]
    assert _texts(platform, "psh-inv", None, min_confidence=1.0) == []
    record = _last_search_audit(platform)
    assert "min_confidence=1" in record.summary, record.summary
    principal = principal_of(platform, "psh-inv")
    for wrong in (-0.1, 1.5, 90.0):
        with platform.transaction() as session, pytest.raises(InvalidInput) as caught:
            platform.events.search_plates(
                session, principal, PlateSearch(min_confidence=wrong), purpose=PURPOSE
            )
        assert caught.value.field == "min_confidence"


def test_near_finds_reads_one_character_off_and_stays_in_scope(
    platform: Platform, reads: dict[str, int]
) -> None:
    """The reader's commonest errors past the confusable pairs: a character dropped
    (LEB356 for LEB3656), one added, one misread (LEA3656)."""
    for camera, text in (
        ("PSH-TC1", "LEB356"),
        ("PSH-TC1", "LEB36566"),
        ("PSH-TC2", "LEA3656"),
        ("PSH-TC2", "LEA356"),  # two characters off
        ("BNU-TC1", "LEB365"),  # one off, out of a Peshawar user's scope
    ):
        store_read(platform, plate_read(camera, text))
    near = ["LE83656", "LEA3656", "LEB356", "LEB3656", "LEB36566"]
    assert _texts(platform, "psh-inv", "LEB-3656", "near") == near
    assert _texts(platform, "psh-inv", "LEB3656", "fuzzy") == ["LE83656", "LEB3656"]
    assert "LEB365" in _texts(platform, "everywhere", "LEB3656", "near")
    with pytest.raises(InvalidInput, match="a near search takes a whole plate"):
        _texts(platform, "psh-inv", "LEB*", "near")


def test_a_search_exported_for_a_case_file_is_in_scope_guarded_and_audited(
    platform: Platform, reads: dict[str, int]
) -> None:
    import csv
    import hashlib
    import io

    from tests.factories import principal_of

    store_read(platform, plate_read("PSH-TC1", "LE9999", minutes_ago=1))
    investigator = principal_of(platform, "psh-inv")
    with platform.transaction() as session:
        body = platform.events.export_plates(
            session, investigator, PlateSearch(plate="LE*"), purpose=PURPOSE
        )
    rows = list(csv.DictReader(io.StringIO(body)))
    # Newest first, Peshawar's only (the same car seen in Bannu is out of scope).
    assert [r["plate"] for r in rows] == ["LE9999", "LEB3656", "LEA1234", "LE83656", "LES19"]
    assert {r["district"] for r in rows} == {"peshawar"}
    first = rows[0]
    assert first["camera"] == "PSH-TC1"
    assert first["at_utc"].endswith("+00:00")
    assert first["at_pkt"].endswith(" PKT")
    with platform.sessions() as session:
        record = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.object_type == "plate_read", AuditRecord.action == "export")
            .order_by(AuditRecord.seq.desc())
        ).first()
    assert record is not None
    assert (record.actor_name, record.purpose, record.district) == (
        "psh-inv",
        PURPOSE,
        "peshawar",
    )
    digest = hashlib.sha256(body.encode()).hexdigest()
    assert record.summary == (
        f"exported 5 plate reads (plate=LE*, mode=wildcard), file sha256 {digest}"
    )
    with platform.transaction() as session, pytest.raises(InvalidInput) as unstated:
        platform.events.export_plates(session, investigator, PlateSearch(plate="LE*"), purpose="")
    assert unstated.value.field == "purpose"
    # Searching is not exporting: an operator who may search may not take the reads away.
    make_user(platform, "psh-op", ["operator"], districts=["peshawar"])
    operator = principal_of(platform, "psh-op")
    with platform.transaction() as session, pytest.raises(PermissionDenied):
        platform.events.export_plates(session, operator, PlateSearch(plate="LE*"), purpose=PURPOSE)


def test_an_export_too_large_for_a_case_file_is_refused_with_the_count(
    platform: Platform, reads: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from safecity.events import service
    from tests.factories import principal_of

    monkeypatch.setattr(service, "EXPORT_LIMIT", 3)
    investigator = principal_of(platform, "psh-inv")
    with platform.transaction() as session, pytest.raises(InvalidInput) as caught:
        platform.events.export_plates(
            session, investigator, PlateSearch(plate="LE*"), purpose=PURPOSE
        )
    assert "4 reads match: narrow the search to 3 or fewer" in caught.value.message
    with platform.sessions() as session:
        exported = session.scalars(
            select(AuditRecord).where(
                AuditRecord.object_type == "plate_read", AuditRecord.action == "export"
            )
        ).all()
    assert exported == []


def test_a_camera_registered_in_lower_case_is_found_by_its_code_in_any_case(
    platform: Platform, reads: dict[str, int]
) -> None:
    from safecity.identity.system import system_principal
    from safecity.registry.schemas import CameraCreate

    with platform.transaction() as session:
        platform.registry.create_camera(
            session,
            system_principal("tests"),
            CameraCreate(
                code="psh-lc1",
                site="PSH-T1",
                name="Camera psh-lc1",
                status="online",
                main_stream_url="rtsp://10.0.0.9:554/ch1",
                purpose="Traffic",
                legal_basis="Safe Cities programme",
            ),
        )
    store_read(platform, plate_read("psh-lc1", "KPA101"))
    for typed in ("psh-lc1", "PSH-LC1"):
        assert _texts(platform, "psh-inv", None, camera=typed) == ["KPA101"]
