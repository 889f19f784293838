"""The page of one plate read, reached from the plate search: the read whole (images,
text, confidence, camera, district, time, track), the other reads of the plate near it
in time and the hotlist hits it raised; under the plate search's permission, scope and
purpose, every view audited."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.contracts.alerts import AlertRaised
from safecity.core.clock import format_pkt
from safecity.db.outbox import OutboxMessage
from safecity.events.models import PlateReadRecord
from safecity.web.platform import Platform
from tests.events.helpers import list_plate, plate_read, store_read, with_images
from tests.factories import World, make_user, token_for

PURPOSE = "FIR 311/2026 Tehkal snatching"


def _bearer(platform: Platform, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(platform, username)}"}


def _audit(platform: Platform, request_id: str) -> list[AuditRecord]:
    with platform.sessions() as session:
        return list(
            session.scalars(
                select(AuditRecord)
                .where(AuditRecord.request_id == request_id)
                .order_by(AuditRecord.seq)
            )
        )


def _relay(platform: Platform) -> None:
    """The hotlist alerts in the outbox, folded into the queue as the bus consumer does."""
    with platform.sessions() as session:
        payloads = session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.subject == AlertRaised.subject)
        ).all()
    with platform.transaction() as session:
        for payload in payloads:
            platform.alerts.ingest(session, AlertRaised.model_validate(payload))


def _read(platform: Platform, read_id: int) -> PlateReadRecord:
    with platform.sessions() as session:
        read = session.get(PlateReadRecord, read_id)
        assert read is not None
        session.expunge(read)
        return read


def test_a_read_found_in_the_search_opens_on_its_own_page(
    client: TestClient, platform: Platform, world: World
) -> None:
    entry = list_plate(platform, "LEB3656", "stolen")
    hit = store_read(
        platform, with_images(platform, plate_read("PSH-TC1", "LEB3656", minutes_ago=10))
    )
    earlier = store_read(platform, plate_read("PSH-TC2", "LEB3656", minutes_ago=40))
    misread = store_read(platform, plate_read("PSH-TC2", "LE83656", minutes_ago=5))
    long_before = store_read(platform, plate_read("PSH-TC1", "LEB3656", minutes_ago=200))
    in_bannu = store_read(platform, plate_read("BNU-TC1", "LEB3656", minutes_ago=12))
    other_plate = store_read(platform, plate_read("PSH-TC1", "PEB1234", minutes_ago=10))
    _relay(platform)
    make_user(platform, "inv-read", ["investigator"], districts=["peshawar"])
    headers = _bearer(platform, "inv-read")
    search = client.get(f"/plates?plate=LEB3656&purpose={PURPOSE}", headers=headers)
    assert search.status_code == 200
    link = re.search(rf'href="(/plates/{hit}\?[^"]+)"', search.text)
    assert link is not None, "the search links the read's page"
    page = client.get(html.unescape(link.group(1)), headers=headers)
    assert page.status_code == 200, page.text
    text = page.text
    stored = _read(platform, hit)
    for shown in (
        f'src="/api/v1/plates/{hit}/crop?purpose=',
        f'src="/api/v1/plates/{hit}/vehicle?purpose=',
        "LEB3656",
        "93%",
        f'href="/cameras/{world.cameras["PSH-TC1"]}">PSH-TC1</a>',
        "peshawar",
        format_pkt(stored.at),
        "track 7",
        "5 frames",
        "/cameras/",  # the recording around the read
        "taken at gunpoint, Saddar",  # the entry it matched
        'id="plate-read-alerts"',
        "Stolen vehicle LEB3656 at PSH-TC1",
    ):
        assert shown in text, shown
    entries = re.search(r'<table id="plate-read-entries">(.*?)</table>', text, re.S)
    assert entries is not None
    assert f"<td>{entry}</td>" in entries.group(1)
    # The other reads of the plate within the hour, in scope, confusable misreads too.
    nearby = re.search(r'<table id="plate-read-nearby">(.*?)</table>', text, re.S)
    assert nearby is not None
    linked = [int(i) for i in re.findall(r'href="/plates/(\d+)\?', nearby.group(1))]
    assert linked == [earlier, misread], "time order; this read is marked, not linked"
    assert "(this read)" in nearby.group(1)
    for absent in (long_before, in_bannu, other_plate):
        assert f"/plates/{absent}?" not in text, absent
    # One view of the read with its purpose, one of the alerts shown with it.
    records = _audit(platform, page.headers["x-request-id"])
    assert [(r.action, r.object_type) for r in records] == [
        ("view", "plate_read"),
        ("view", "alert"),
    ]
    read_record = records[0]
    assert (read_record.object_id, read_record.purpose, read_record.actor_name) == (
        str(hit),
        PURPOSE,
        "inv-read",
    )
    assert "2 other reads" in read_record.summary
    # Which reads were shown, for an auditor asking later whose they were.
    assert read_record.after is not None
    assert sorted(read_record.after["other_reads_shown"]) == sorted([earlier, misread])
    assert records[1].purpose == PURPOSE
    # A neighbour's page links back to this one.
    neighbour = client.get(f"/plates/{earlier}?purpose={PURPOSE}", headers=headers)
    assert neighbour.status_code == 200
    assert f'href="/plates/{hit}?' in neighbour.text
    assert 'id="plate-read-entries"' in neighbour.text, "it matched the entry too"
    # A read of an unlisted plate says it hit nothing, and that no other read was near.
    plain = client.get(f"/plates/{other_plate}?purpose={PURPOSE}", headers=headers)
    assert plain.status_code == 200
    assert 'id="plate-read-no-hits"' in plain.text
    assert 'id="plate-read-alone"' in plain.text


def test_a_read_page_keeps_to_scope_and_asks_a_purpose(
    client: TestClient, platform: Platform, world: World
) -> None:
    read = store_read(platform, with_images(platform, plate_read("PSH-TC1", "LEB3656")))
    make_user(platform, "inv-bannu", ["investigator"], districts=["bannu"])
    make_user(platform, "inv-psh", ["investigator"], districts=["peshawar"])
    make_user(platform, "aud-read", ["auditor"], districts=["peshawar"])
    url = f"/plates/{read}"
    # Another district's investigator: as if the read did not exist, and nothing audited
    # as a view of it.
    outside = client.get(f"{url}?purpose={PURPOSE}", headers=_bearer(platform, "inv-bannu"))
    assert outside.status_code == 404
    assert "LEB3656" not in outside.text
    assert not [r for r in _audit(platform, outside.headers["x-request-id"]) if r.action == "view"]
    missing = client.get(
        f"/plates/{read + 1000}?purpose={PURPOSE}", headers=_bearer(platform, "inv-psh")
    )
    assert missing.status_code == 404
    # No purpose: a form asking for one, nothing of the read, nothing audited.
    for purpose in ("", "  "):
        asked = client.get(f"{url}?purpose={purpose}", headers=_bearer(platform, "inv-psh"))
        assert asked.status_code == 200
        assert 'id="plate-read-purpose"' in asked.text
        assert "LEB3656" not in asked.text
        assert _audit(platform, asked.headers["x-request-id"]) == []
    # Without plates.search: refused.
    refused = client.get(f"{url}?purpose={PURPOSE}", headers=_bearer(platform, "aud-read"))
    assert refused.status_code == 403
