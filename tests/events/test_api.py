"""The HTTP face of plate search, rule events and hotlists: purposes, images through the
filter, optimistic locking, CSV in and out, and the pages built on them."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.core.clock import PKT, utcnow
from safecity.web.platform import Platform
from tests.events.helpers import (
    JPEG,
    list_plate,
    plate_read,
    rule_event,
    snapshot_file,
    store_event,
    store_read,
    with_images,
)
from tests.factories import PASSWORD, World, make_user, token_for

PURPOSE = "FIR 311/2026 Tehkal snatching"


def _bearer(platform: Platform, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(platform, username)}"}


def _audit(platform: Platform, request_id: str) -> list[AuditRecord]:
    with platform.sessions() as session:
        return list(
            session.scalars(select(AuditRecord).where(AuditRecord.request_id == request_id))
        )


def test_plate_search_needs_a_purpose_and_records_it(
    client: TestClient, platform: Platform, world: World
) -> None:
    store_read(platform, plate_read("PSH-TC1", "LEB3656"))
    store_read(platform, plate_read("BNU-TC1", "LEB3656"))
    make_user(platform, "inv", ["investigator"], districts=["peshawar"])
    headers = _bearer(platform, "inv")
    refused = client.get("/api/v1/plates?plate=LEB*", headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "purpose"
    for answer in (
        client.get("/api/v1/plates?plate=LEB*", headers={**headers, "X-Purpose": PURPOSE}),
        client.get(f"/api/v1/plates?plate=LEB*&purpose={PURPOSE}", headers=headers),
    ):
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total"] == 1
        (item,) = body["items"]
        assert (item["text"], item["camera_code"], item["district"]) == (
            "LEB3656",
            "PSH-TC1",
            "peshawar",
        )
        assert item["playback_url"].startswith(f"/cameras/{world.cameras['PSH-TC1']}/playback?")
        (record,) = [
            r for r in _audit(platform, answer.headers["x-request-id"]) if r.action == "search"
        ]
        assert (record.actor_name, record.purpose) == ("inv", PURPOSE)
    bad_mode = client.get(
        "/api/v1/plates?plate=LEB*&mode=regex", headers={**headers, "X-Purpose": PURPOSE}
    )
    assert bad_mode.status_code == 422
    assert bad_mode.json()["error"]["field"] == "mode"


def test_plate_search_takes_a_minimum_confidence(
    client: TestClient, platform: Platform, world: World
) -> None:
    store_read(platform, plate_read("PSH-TC1", "LEB3656", confidence=0.97))
    store_read(platform, plate_read("PSH-TC1", "LEB3658", confidence=0.42))
    make_user(platform, "inv", ["investigator"], districts=["peshawar"])
    headers = {**_bearer(platform, "inv"), "X-Purpose": PURPOSE}
    every = client.get("/api/v1/plates?plate=LEB*", headers=headers).json()
    assert sorted(item["text"] for item in every["items"]) == ["LEB3656", "LEB3658"]
    sure = client.get("/api/v1/plates?plate=LEB*&min_confidence=0.9", headers=headers)
    assert sure.status_code == 200, sure.text
    assert [item["text"] for item in sure.json()["items"]] == ["LEB3656"]
    assert sure.json()["total"] == 1
    for wrong in ("1.5", "-1", "high"):
        refused = client.get(f"/api/v1/plates?plate=LEB*&min_confidence={wrong}", headers=headers)
        assert refused.status_code == 422, wrong
        assert refused.json()["error"]["field"] == "min_confidence"
    # The page takes a percentage, keeps it in the form and says what is wrong with it.
    page_headers = _bearer(platform, "inv")
    page = client.get(f"/plates?plate=LEB*&confidence=90&purpose={PURPOSE}", headers=page_headers)
    assert page.status_code == 200
    assert '<td class="plate">LEB3656</td>' in page.text
    assert '<td class="plate">LEB3658</td>' not in page.text
    assert 'name="confidence" value="90"' in page.text
    for wrong in ("abc", "150"):
        page = client.get(
            f"/plates?plate=LEB*&confidence={wrong}&purpose={PURPOSE}", headers=page_headers
        )
        assert page.status_code == 422
        assert "minimum confidence: a percentage from 0 to 100" in page.text
        assert f'name="confidence" value="{wrong}"' in page.text
        assert "plate-results" not in page.text


def test_images_are_served_by_id_through_the_filter_and_audited(
    client: TestClient, platform: Platform, world: World
) -> None:
    mine = store_read(platform, with_images(platform, plate_read("PSH-TC1", "LEB3656")))
    theirs = store_read(platform, with_images(platform, plate_read("BNU-TC1", "LEB3656")))
    bare = store_read(platform, plate_read("PSH-TC1", "PKA123"))
    make_user(platform, "op-img", ["operator"], districts=["peshawar"])
    headers = {**_bearer(platform, "op-img"), "X-Purpose": PURPOSE}
    crop = client.get(f"/api/v1/plates/{mine}/crop", headers=headers)
    assert crop.status_code == 200
    assert crop.content == JPEG
    assert crop.headers["content-type"] == "image/jpeg"
    assert crop.headers["cache-control"] == "private, no-store"
    # Opened on its own in a tab, the picture may load nothing, run nothing, be framed
    # nowhere; only the browser's own viewer styles apply.
    policy = crop.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src" not in policy
    (view,) = _audit(platform, crop.headers["x-request-id"])
    assert (view.action, view.object_id, view.purpose) == ("view", str(mine), PURPOSE)
    assert client.get(f"/api/v1/plates/{mine}/vehicle", headers=headers).status_code == 200
    unstated = _bearer(platform, "op-img")
    for which in ("crop", "vehicle"):
        refused = client.get(f"/api/v1/plates/{mine}/{which}", headers=unstated)
        assert refused.status_code == 422
        assert "state the purpose" in refused.text
        assert not _audit(platform, refused.headers["x-request-id"])
    assert client.get(f"/api/v1/plates/{theirs}/crop", headers=headers).status_code == 404
    assert client.get(f"/api/v1/plates/{bare}/crop", headers=headers).status_code == 404
    snapshot = snapshot_file(platform, "PSH-TC1", "gate")
    event = store_event(platform, rule_event("PSH-TC1", "zone_intrusion", snapshot=snapshot))
    shot = client.get(f"/api/v1/events/{event}/snapshot", headers=headers)
    assert shot.status_code == 200
    assert shot.content == JPEG


def test_hotlist_entries_over_http(client: TestClient, platform: Platform, world: World) -> None:
    make_user(platform, "sup", ["supervisor"], districts=["peshawar"])
    headers = _bearer(platform, "sup")
    body = {
        "plate": "LEB-3656",
        "category": "stolen",
        "reason": "Snatched at gunpoint",
        "source_agency": "CTD",
        "priority": 1,
    }
    created = client.post("/api/v1/hotlists/entries", json=body, headers=headers)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert (entry["plate"], entry["owner"], entry["live"], entry["version"]) == (
        "LEB3656",
        "sup",
        True,
        1,
    )
    again = client.post("/api/v1/hotlists/entries", json=body, headers=headers)
    assert again.status_code == 409
    extra = client.post("/api/v1/hotlists/entries", json={**body, "colour": "red"}, headers=headers)
    assert (extra.status_code, extra.json()["error"]["field"]) == (422, "colour")
    url = f"/api/v1/hotlists/entries/{entry['id']}"
    changed = client.patch(url, json={"priority": 2}, headers={**headers, "If-Match": '"1"'})
    assert changed.status_code == 200
    assert changed.json()["version"] == 2
    stale = client.patch(url, json={"priority": 3}, headers={**headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    why = {"reason": "vehicle recovered, FIR 311/2026 closed"}
    removed = client.request("DELETE", url, json=why, headers={**headers, "If-Match": '"2"'})
    assert removed.status_code == 200, removed.text
    assert removed.json()["active"] is False
    again = client.request("DELETE", url, json=why, headers={**headers, "If-Match": '"3"'})
    assert again.status_code == 409
    listed = client.get("/api/v1/hotlists/entries", headers=headers).json()
    assert listed["total"] == 0
    everything = client.get("/api/v1/hotlists/entries?include_inactive=true", headers=headers)
    assert everything.json()["total"] == 1


def test_hotlist_changes_need_if_match_and_removal_a_reason(
    client: TestClient, platform: Platform, world: World
) -> None:
    entry = list_plate(platform, "LEB3656")
    make_user(platform, "sup3", ["supervisor"], districts=["peshawar"])
    headers = _bearer(platform, "sup3")
    url = f"/api/v1/hotlists/entries/{entry}"
    why = {"reason": "vehicle recovered"}
    blind_edit = client.patch(url, json={"priority": 3}, headers=headers)
    assert blind_edit.status_code == 428
    assert blind_edit.json()["error"]["field"] == "If-Match"
    blind_removal = client.request("DELETE", url, json=why, headers=headers)
    assert blind_removal.status_code == 428
    current = {**headers, "If-Match": '"1"'}
    for body in (None, {}, {"reason": " "}):
        unexplained = client.request("DELETE", url, json=body, headers=current)
        assert unexplained.status_code == 422, body
    back_door = client.patch(url, json={"active": False}, headers=current)
    assert (back_door.status_code, back_door.json()["error"]["field"]) == (422, "active")
    assert client.get(url, headers=headers).json()["active"] is True
    edited = client.patch(url, json={"priority": 3}, headers=current)
    assert edited.status_code == 200
    stale = client.request("DELETE", url, json=why, headers=current)
    assert stale.status_code == 412
    assert "reload" in stale.json()["error"]["message"]
    removed = client.request("DELETE", url, json=why, headers={**headers, "If-Match": '"2"'})
    assert removed.status_code == 200
    (record,) = _audit(platform, removed.headers["x-request-id"])
    assert (record.action, record.actor_name) == ("update", "sup3")
    assert "vehicle recovered" in record.summary
    assert record.after is not None
    assert record.after["removal_reason"] == "vehicle recovered"


def test_removal_takes_its_reason_from_the_query_when_the_body_is_dropped(
    client: TestClient, platform: Platform, world: World
) -> None:
    """Some proxies drop the body of a DELETE: ``?reason=`` carries it instead. A missing
    or blank reason is still a clear 422, and a query and a body that disagree too."""
    make_user(platform, "sup4", ["supervisor"], districts=["peshawar"])
    headers = {**_bearer(platform, "sup4"), "If-Match": '"1"'}
    entry = list_plate(platform, "LEB3656")
    url = f"/api/v1/hotlists/entries/{entry}"
    missing = client.delete(url, headers=headers)
    assert missing.status_code == 422
    error = missing.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_input", "reason")
    assert "?reason=" in error["message"]
    for blank in ("", "   ", "x"):
        refused = client.delete(url, params={"reason": blank}, headers=headers)
        assert refused.status_code == 422, blank
        assert refused.json()["error"]["field"] == "reason"
    differ = client.request(
        "DELETE", url, params={"reason": "recovered"}, json={"reason": "withdrawn"}, headers=headers
    )
    assert (differ.status_code, differ.json()["error"]["field"]) == (422, "reason")
    assert client.get(url, headers=headers).json()["active"] is True, "nothing was removed"
    removed = client.delete(
        url, params={"reason": " vehicle recovered, FIR 311/2026 "}, headers=headers
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["active"] is False
    (record,) = _audit(platform, removed.headers["x-request-id"])
    assert record.after is not None
    assert record.after["removal_reason"] == "vehicle recovered, FIR 311/2026"
    # The body still works, and with the same reason in the query too.
    other = list_plate(platform, "PEB1234")
    both = client.request(
        "DELETE",
        f"/api/v1/hotlists/entries/{other}",
        params={"reason": "request withdrawn"},
        json={"reason": "request withdrawn"},
        headers=headers,
    )
    assert both.status_code == 200, both.text
    (record,) = _audit(platform, both.headers["x-request-id"])
    assert record.after is not None
    assert record.after["removal_reason"] == "request withdrawn"


def test_hotlist_csv_import_report_and_export(
    client: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "inv2", ["investigator"], districts=["peshawar"])
    headers = _bearer(platform, "inv2")
    content = (
        b"plate,category,reason,source_agency,priority\n"
        b"LEB3656,stolen,Snatched,CTD,1\n"
        b"PKA123,flying,Nothing,ITP,1\n"
    )
    report = client.post(
        "/api/v1/hotlists/import",
        files={"file": ("h.csv", content, "text/csv")},
        headers=headers,
    )
    assert report.status_code == 200, report.text
    assert report.json()["created"] == 1
    assert [(p["row"], p["field"]) for p in report.json()["problems"]] == [(3, "category")]
    binary = client.post(
        "/api/v1/hotlists/import",
        files={"file": ("h.csv", b"\xff\xfe\x00bad", "text/csv")},
        headers=headers,
    )
    assert (binary.status_code, binary.json()["error"]["field"]) == (422, "file")
    exported = client.get("/api/v1/hotlists/export.csv", headers=headers)
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["plate"], r["category"], r["owner"]) for r in rows] == [
        ("LEB3656", "stolen", "inv2")
    ]


def test_hotlist_export_writes_formulas_as_text_and_imports_them_back(
    client: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "inv4", ["investigator"], districts=["peshawar"])
    headers = _bearer(platform, "inv4")
    formula = '=HYPERLINK("http://x","y")'
    body = {"plate": "LEB3656", "category": "stolen", "reason": formula, "source_agency": "+cmd"}
    created = client.post("/api/v1/hotlists/entries", json=body, headers=headers)
    assert created.status_code == 201
    exported = client.get("/api/v1/hotlists/export.csv", headers=headers).text
    (row,) = csv.DictReader(io.StringIO(exported))
    assert (row["reason"], row["source_agency"]) == ("'" + formula, "'+cmd")
    reimported = client.post(
        "/api/v1/hotlists/import",
        files={"file": ("hotlist.csv", exported.encode(), "text/csv")},
        headers=headers,
    ).json()
    assert (reimported["created"], reimported["skipped"], reimported["problems"]) == (0, 1, [])
    docs = client.get("/api/v1/openapi.json", headers=headers).json()
    import_docs = docs["paths"]["/api/v1/hotlists/import"]["post"]["description"]
    assert "2027-01-31" in import_docs
    assert "Pakistan time" in import_docs
    assert "active=no" in import_docs


def test_rule_events_list_in_scope(client: TestClient, platform: Platform, world: World) -> None:
    store_event(platform, rule_event("PSH-TC1", "zone_intrusion"))
    store_event(platform, rule_event("PSH-TC2", "line_crossing"))
    store_event(platform, rule_event("BNU-TC1", "zone_intrusion"))
    make_user(platform, "eng-ev", ["engineer"], districts=["peshawar"])
    headers = _bearer(platform, "eng-ev")
    body = client.get("/api/v1/events", headers=headers).json()
    assert sorted((e["camera_code"], e["kind"], e["alerted"]) for e in body["items"]) == [
        ("PSH-TC1", "zone_intrusion", True),
        ("PSH-TC2", "line_crossing", False),
    ]
    only = client.get("/api/v1/events?kind=line_crossing", headers=headers).json()
    assert only["total"] == 1


def test_an_event_shows_its_object_value_and_footage(
    client: TestClient, platform: Platform, world: World
) -> None:
    """An operator opening an event sees the object that fired it outlined on the frame,
    the value with its unit, and links that play or export the event's own clip."""
    from safecity.contracts.analytics import Box

    snapshot = snapshot_file(platform, "PSH-TC1", "loiter")
    message = rule_event("PSH-TC1", "loitering", snapshot=snapshot).model_copy(
        update={"box": Box(x=100, y=50, w=40, h=120), "value": 74.6}
    )
    event = store_event(platform, message)
    other = store_event(platform, rule_event("PSH-TC2", "line_crossing", minutes_ago=90))
    store_event(platform, rule_event("BNU-TC1", "loitering"))
    make_user(platform, "eng-ev2", ["engineer"], districts=["peshawar"])
    headers = _bearer(platform, "eng-ev2")
    body = client.get(f"/api/v1/events/{event}", headers=headers).json()
    assert body["box"] == {"x": 100, "y": 50, "w": 40, "h": 120}
    assert (body["frame_width"], body["frame_height"]) == (640, 360)
    assert body["value_text"] == "75 s"
    assert body["clip_url"].startswith(f"/api/v1/cameras/{world.cameras['PSH-TC1']}/clip?since=")
    assert "&at=" in body["playback_url"]
    page = client.get(f"/events/{event}", headers=headers)
    assert page.status_code == 200
    text = page.text
    assert 'id="event-box" x="100" y="50" width="40" height="120"' in text
    assert 'viewBox="0 0 640 360"' in text
    assert f'href="/api/v1/events/{event}/snapshot"' in text
    assert "75 s" in text
    assert "Play the recording from this moment" in text
    assert "Export the clip" not in text, "an engineer may not export footage"
    # The list: filters by camera and time; a filter it cannot use is said, not a 500.
    listing = client.get("/events?camera=psh-tc1", headers=headers)
    assert f'href="/events/{event}"' in listing.text
    assert f'href="/events/{other}"' not in listing.text
    hour_ago = (utcnow() - timedelta(hours=1)).astimezone(PKT).strftime("%Y-%m-%dT%H:%M")
    recent = client.get(f"/events?until={hour_ago}", headers=headers)
    assert f'href="/events/{other}"' in recent.text
    assert f'href="/events/{event}"' not in recent.text
    for query, message_text in (
        ("camera=NOPE-1", "no camera has the code"),
        ("since=yesterday", "use a time like"),
        ("kind=teleport", "no rule kind"),
    ):
        bad = client.get(f"/events?{query}", headers=headers)
        assert bad.status_code == 422, query
        assert message_text in html.unescape(bad.text), query
    # Another district's event is not found, on the page as in the API.
    make_user(platform, "eng-bnu", ["engineer"], districts=["bannu"])
    outside = client.get(f"/events/{event}", headers=_bearer(platform, "eng-bnu"))
    assert outside.status_code == 404
    assert f"rule event {event} not found" in outside.text


def test_pages_search_plates_and_keep_hotlists(
    client: TestClient, platform: Platform, world: World
) -> None:
    read = store_read(platform, with_images(platform, plate_read("PSH-TC1", "LEB3656")))
    list_plate(platform, "PKA123", "wanted")
    make_user(platform, "sup2", ["supervisor"], districts=["peshawar"])
    headers = _bearer(platform, "sup2")
    form = client.get("/plates", headers=headers)
    assert form.status_code == 200
    assert 'name="purpose"' in form.text
    assert "plate-results" not in form.text
    # Without a purpose nothing is searched: the form asks for one.
    unstated = client.get("/plates?plate=LEB3656", headers=headers)
    assert unstated.status_code == 200
    assert 'id="plate-purpose-needed"' in unstated.text
    assert "plate-results" not in unstated.text
    found = client.get(f"/plates?plate=LEB*&purpose={PURPOSE}", headers=headers)
    assert found.status_code == 200
    assert f'src="/api/v1/plates/{read}/crop?purpose=' in found.text
    assert re.search(r"\d\d-\d\d-\d{4} \d\d:\d\d:\d\d PKT", found.text)
    assert "/playback?since=" in found.text
    added = client.post(
        "/hotlists/new",
        data={
            "plate": "abc 123",
            "category": "expired_registration",
            "reason": "Registration lapsed 2024",
            "source_agency": "Excise",
            "priority": "4",
            "expires_at": "2030-01-01T10:00",
            "owner": "",
        },
        headers=headers,
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    page = client.get("/hotlists", headers=headers)
    assert "ABC123" in page.text
    assert "01-01-2030 10:00:00 PKT" in page.text
    wrong = client.post(
        "/hotlists/new",
        data={"plate": "A", "category": "stolen", "reason": "x", "source_agency": "y"},
        headers=headers,
    )
    assert wrong.status_code == 422
    assert "2 to 12 letters" in wrong.text
    imported = client.post(
        "/hotlists/import",
        files={"file": ("h.csv", b"plate,category,reason,source_agency\nZZ9,stolen,,ITP\n")},
        headers=headers,
    )
    assert imported.status_code == 200
    assert 'id="import-problems"' in imported.text
    assert "reason" in imported.text
    events = client.get("/events", headers=headers)
    assert events.status_code == 200
    nav = client.get("/map", headers=headers).text
    assert 'href="/plates"' in nav
    assert 'href="/hotlists"' in nav


def test_removing_on_the_page_asks_a_reason_and_a_confirmation(
    client: TestClient, platform: Platform, world: World
) -> None:
    entry = list_plate(platform, "LEB3656")
    make_user(platform, "sup5", ["supervisor"], districts=["peshawar"])
    headers = _bearer(platform, "sup5")
    listing = client.get("/hotlists", headers=headers).text
    assert f'href="/hotlists/{entry}/deactivate"' in listing
    assert f'action="/hotlists/{entry}/deactivate"' not in listing, "no one-click removal"
    form = client.get(f"/hotlists/{entry}/deactivate", headers=headers)
    assert form.status_code == 200
    assert 'name="reason"' in form.text
    assert 'name="confirm"' in form.text
    assert 'name="version" value="1"' in form.text
    url = f"/hotlists/{entry}/deactivate"
    good = {"reason": "vehicle recovered", "confirm": "yes", "version": "1"}
    refused = [
        ({}, 422),
        ({**good, "confirm": ""}, 422),
        ({**good, "reason": ""}, 422),
        ({**good, "version": ""}, 428),
        ({**good, "version": "7"}, 412),
    ]
    for data, status in refused:
        answer = client.post(url, data=data, headers=headers, follow_redirects=False)
        assert answer.status_code == status, (data, answer.text[:200])
        assert 'id="remove-error"' in answer.text
        assert 'name="confirm" value="yes" required>' in answer.text, "confirm again"
    assert 'name="version" value="1"' in answer.text, "the page now shows version 1"
    assert client.get(f"/api/v1/hotlists/entries/{entry}", headers=headers).json()["active"]
    done = client.post(url, data=good, headers=headers, follow_redirects=False)
    assert done.status_code == 303
    (record,) = _audit(platform, done.headers["x-request-id"])
    assert "vehicle recovered" in record.summary
    assert not client.get(f"/api/v1/hotlists/entries/{entry}", headers=headers).json()["active"]


def test_the_import_page_states_the_formats(
    client: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "sup6", ["supervisor"], districts=["peshawar"])
    page = client.get("/hotlists/import", headers=_bearer(platform, "sup6"))
    assert page.status_code == 200
    for text in ("2027-01-31", "Pakistan time", "created_by", "Export CSV"):
        assert text in page.text, text
    content = b"plate,category,reason,source_agency,expires_at\nLEB3656,Stolen,x,ITP,2020-01-01\n"
    report = client.post(
        "/hotlists/import",
        files={"file": ("h.csv", content, "text/csv")},
        headers=_bearer(platform, "sup6"),
    )
    assert 'id="import-warnings"' in report.text
    assert "already past" in report.text


def test_the_page_exports_what_it_found_to_those_who_may(
    client: TestClient, platform: Platform, world: World
) -> None:
    """The search page links its results' CSV, with the same search and purpose; the
    link's answer is the file, and an operator (who may search, not export) gets none."""
    store_read(platform, plate_read("PSH-TC1", "LEB3656", confidence=0.97))
    store_read(platform, plate_read("PSH-TC1", "LEB3658", confidence=0.42))
    make_user(platform, "inv-x", ["investigator"], districts=["peshawar"])
    make_user(platform, "op-x", ["operator"], districts=["peshawar"])
    url = f"/plates?plate=LEB*&confidence=90&purpose={PURPOSE}"
    page = client.get(url, headers=_bearer(platform, "inv-x"))
    assert page.status_code == 200
    link = re.search(r'id="plate-export" href="([^"]+)"', page.text)
    assert link is not None, "no export link"
    answer = client.get(html.unescape(link.group(1)), headers=_bearer(platform, "inv-x"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    lines = answer.text.splitlines()
    assert lines[0].startswith("id,plate,confidence,at_utc,at_pkt,camera,district")
    assert [line.split(",")[1] for line in lines[1:]] == ["LEB3656"]  # 90 % or more only
    (export,) = [
        r for r in _audit(platform, answer.headers["x-request-id"]) if r.action == "export"
    ]
    assert export.purpose == PURPOSE
    operator_page = client.get(url, headers=_bearer(platform, "op-x"))
    assert operator_page.status_code == 200
    assert "plate-export" not in operator_page.text
    refused = client.get(html.unescape(link.group(1)), headers=_bearer(platform, "op-x"))
    assert refused.status_code == 403


def test_a_search_linked_without_a_purpose_fills_the_form_and_asks_for_one(
    client: TestClient, platform: Platform, world: World
) -> None:
    store_read(platform, plate_read("PSH-TC1", "LEB3656"))
    make_user(platform, "op-link", ["operator"], districts=["peshawar"])
    page = client.get("/plates?plate=LEB3656&mode=near", headers=_bearer(platform, "op-link"))
    assert page.status_code == 200
    assert 'id="plate-purpose-needed"' in page.text
    assert 'name="plate" value="LEB3656"' in page.text
    assert '<option value="near" selected>' in page.text
    assert "plate-results" not in page.text  # nothing searched, so nothing audited
    assert [r for r in _audit(platform, page.headers["x-request-id"]) if r.action == "search"] == []


def _sign_in(client: TestClient, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    signed = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert signed.status_code == 303


def _form(page: str, form_id: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the form ``form_id`` as the browser would send them."""
    found = re.search(
        rf'<form method="post" action="([^"]+)"[^>]*id="{form_id}">(.*?)</form>', page, re.S
    )
    assert found is not None, f"no form {form_id}"
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', found.group(2))
    return html.unescape(found.group(1)), {k: html.unescape(v) for k, v in hidden}


def test_an_entry_taken_off_is_listed_again_from_the_page_with_a_reason(
    client: TestClient, platform: Platform, world: World
) -> None:
    """The hotlist page offers "List again…" on a removed entry; its form posts with the
    version shown (a stale one is refused and the page reloads the entry), a reason and
    a confirmation, under the same permission as the API; the re-listing is audited."""
    make_user(platform, "sup-relist", ["supervisor"], districts=["peshawar"])
    make_user(platform, "op-relist", ["operator"], districts=["peshawar"])
    entry = list_plate(platform, "LEB3656")
    api = {**_bearer(platform, "sup-relist"), "If-Match": '"1"'}
    url = f"/api/v1/hotlists/entries/{entry}"
    assert (
        client.delete(url, params={"reason": "vehicle recovered"}, headers=api).status_code == 200
    )
    _sign_in(client, "sup-relist")
    listing = client.get("/hotlists?inactive=1").text
    relist = f'href="/hotlists/{entry}/relist"'
    assert relist in listing
    page = client.get(f"/hotlists/{entry}/relist")
    assert page.status_code == 200
    action, hidden = _form(page.text, "hotlist-relist-form")
    assert (action, hidden["version"]) == (f"/hotlists/{entry}/relist", "2")
    assert 'name="reason"' in page.text
    assert 'name="confirm"' in page.text
    reason = "stolen again from Hayatabad, FIR 40/2026"
    good = {**hidden, "reason": reason, "confirm": "yes"}
    for data, status in (
        ({**hidden, "confirm": "yes"}, 422),
        ({**good, "reason": "  "}, 422),
        ({**good, "confirm": ""}, 422),
        ({**good, "version": ""}, 428),
        ({**good, "version": "1"}, 412),
    ):
        answer = client.post(action, data=data, follow_redirects=False)
        assert answer.status_code == status, (data, answer.text[:300])
        assert 'id="relist-error"' in answer.text
        assert 'name="confirm" value="yes" required>' in answer.text, "confirm again"
        assert 'name="version" value="2"' in answer.text
    assert client.get(url, headers=api).json()["active"] is False, "nothing was listed"
    # Someone without hotlists.change gets neither the form nor the change.
    operator = _bearer(platform, "op-relist")
    assert client.get(f"/hotlists/{entry}/relist", headers=operator).status_code == 403
    assert client.post(action, data=good, headers=operator).status_code == 403
    assert relist not in client.get("/hotlists?inactive=1", headers=operator).text
    done = client.post(action, data=good, follow_redirects=False)
    assert done.status_code == 303, done.text
    shown = client.get(url, headers=api).json()
    assert (shown["active"], shown["live"], shown["version"]) == (True, True, 3)
    (record,) = _audit(platform, done.headers["x-request-id"])
    assert (record.action, record.actor_name) == ("update", "sup-relist")
    assert record.after is not None
    assert record.after["relist_reason"] == reason
    # Listed, it offers removal again and no second re-listing.
    listing = client.get("/hotlists?inactive=1").text
    assert relist not in listing
    assert f'href="/hotlists/{entry}/deactivate"' in listing
    again = client.post(action, data={**good, "version": "3"}, follow_redirects=False)
    assert again.status_code == 422
    assert 'id="already-listed"' in again.text
