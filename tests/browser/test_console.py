"""The operator console in chromium: an alert published on the bus appears live in the
queue of its district's operator (and never in another district's), and is acknowledged,
escalated and dismissed with a reason by clicks, each stored and audited.

The browser tests' shared server runs without a bus or WebSockets; this module starts a
second one on the same database with both (NATS, outbox relay, bus consumers, hub).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog, Locator, Page, expect
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.bus.nats import NatsBus
from safecity.command.alerts_models import Alert
from safecity.contracts.alerts import AlertRaised
from safecity.events.schemas import HotlistEntryCreate, HotlistEntryRemove
from safecity.identity.system import system_principal
from safecity.registry.models import Camera, District
from tests.api.routes_command import alert_message, snapshot_jpeg
from tests.browser.support import DEFAULT_PURPOSE, BrowserLog, LiveServer
from tests.command.alerts_support import RunningConsole, console_server
from tests.factories import principal_of, token_for

pytestmark = [pytest.mark.browser, pytest.mark.nats]


@pytest.fixture(scope="module")
def console(
    live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningConsole]:
    with console_server(live_server.platform, tmp_path_factory.mktemp("console")) as running:
        yield running


def camera_in(live_server: LiveServer, district: str) -> str:
    code: str = live_server.scalar(
        select(Camera.code)
        .join(District, District.id == Camera.district_id)
        .where(District.slug == district)
        .order_by(Camera.code)
        .limit(1)
    )
    return code


def publish(bus_url: str, *messages: AlertRaised) -> None:
    """Publish from a thread of its own: Playwright's sync API owns this thread's loop."""

    async def send() -> None:
        bus = await NatsBus.connect(bus_url)
        try:
            for message in messages:
                await bus.publish(message)
        finally:
            await bus.close()

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(send())
        except BaseException as exc:  # reported in the test's thread below
            errors.append(exc)

    thread = threading.Thread(target=run, name="publish-alerts")
    thread.start()
    thread.join(timeout=30)
    assert not errors, errors


def hit(live_server: LiveServer, camera: str, title: str) -> AlertRaised:
    """A hotlist hit with a snapshot on disk, as the events module will raise it."""
    relative = f"alerts/{uuid.uuid4().hex}.jpg"
    path: Path = live_server.platform.settings.media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(snapshot_jpeg())
    return alert_message(camera, title=title, snapshot=relative, priority=2)


def open_console(page: Page, console: RunningConsole, live_server: LiveServer) -> None:
    page.goto(f"{console.base_url}/login")
    page.get_by_label("Username").fill(live_server.operator)
    page.get_by_label("Password").fill(live_server.operator_password)
    page.get_by_label("Purpose of this session").select_option(DEFAULT_PURPOSE)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.goto(f"{console.base_url}/console")
    expect(page.locator("#console")).to_have_attribute("data-feed", "live")
    expect(page.locator("#console")).to_have_attribute("data-ready", "1")


def row(page: Page, title: str) -> Locator:
    return page.locator("#alert-queue li.alert", has_text=title)


def click_answering(page: Page, button: Locator, *, accept: bool) -> str:
    """Click ``button``, answer the confirmation it asks for; the question asked."""
    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", answer)
    button.click()
    deadline = time.monotonic() + 5
    while not asked and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # lets Playwright deliver the dialog to ``answer``
    assert len(asked) == 1, "the action asked for no confirmation"
    return asked[0]


def stored(live_server: LiveServer, title: str) -> Alert:
    alert: Alert = live_server.scalar(select(Alert).where(Alert.title == title))
    return alert


def test_alerts_appear_live_only_in_their_district_and_are_handled(
    page: Page, console: RunningConsole, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    open_console(page, console, live_server)
    tag = uuid.uuid4().hex[:6]
    ours, theirs = f"Stolen car {tag}", f"Elsewhere {tag}"
    # The operator is Bannu's; Peshawar's alert is published first, so it would arrive first.
    publish(
        console.bus_url,
        hit(live_server, camera_in(live_server, "peshawar"), theirs),
        hit(live_server, camera_in(live_server, "bannu"), ours),
    )
    alert = row(page, ours)
    expect(alert).to_be_visible()
    expect(alert.locator(".status")).to_have_text("new")
    expect(alert.locator("img.snapshot")).to_be_visible()
    expect(alert.get_by_role("link", name="Live")).to_have_attribute(
        "href", re.compile(r"^/cameras/\d+/live$")
    )
    expect(alert.get_by_role("link", name="Recorded")).to_have_attribute(
        "href", re.compile(r"^/cameras/\d+/playback\?since=")
    )
    assert stored(live_server, theirs) is not None, "Peshawar's alert was stored"
    expect(row(page, theirs)).to_have_count(0)

    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert.locator(".status")).to_have_text("acknowledged")
    expect(alert.locator(".handled")).to_contain_text(f"by {live_server.operator}")
    alert.get_by_role("button", name="Escalate").click()
    expect(alert.locator(".status")).to_have_text("escalated")
    # Dismissing needs a reason from the list.
    alert.get_by_role("button", name="Dismiss").click()
    expect(alert.locator(".action-error")).to_have_text("Choose a reason to dismiss.")
    alert.get_by_label("Reason to dismiss").select_option("misread_plate")
    # Dismissing closes the alert for good: the operator is asked first, and saying
    # no leaves it as it was.
    dismiss = alert.get_by_role("button", name="Dismiss")
    question = click_answering(page, dismiss, accept=False)
    assert f'"{ours}" will be dismissed as "Plate misread"' in question
    assert "cannot be undone" in question
    expect(alert.locator(".status")).to_have_text("escalated")
    assert stored(live_server, ours).status == "escalated"
    click_answering(page, dismiss, accept=True)
    expect(row(page, ours)).to_have_count(0)

    handled = stored(live_server, ours)
    assert (handled.status, handled.dismiss_reason) == ("dismissed", "misread_plate")
    actions = live_server.scalars(
        select(AuditRecord.summary)
        .where(AuditRecord.object_type == "alert", AuditRecord.object_id == str(handled.id))
        .where(AuditRecord.action == "update")
        .order_by(AuditRecord.seq)
    )
    assert [a.split(" alert")[0] for a in actions] == [
        "acknowledged",
        "escalated",
        "dismissed (misread_plate)",
    ]
    expect(row(page, theirs)).to_have_count(0)
    assert browser_log.console_errors == []


def test_a_stale_console_is_told_who_acted_first(
    page: Page, console: RunningConsole, live_server: LiveServer
) -> None:
    open_console(page, console, live_server)
    title = f"Intrusion {uuid.uuid4().hex[:6]}"
    publish(console.bus_url, hit(live_server, camera_in(live_server, "bannu"), title))
    alert = row(page, title)
    expect(alert).to_be_visible()
    # Another operator's acknowledgement, made where no console hears of it (a second
    # control room on another server, say): this page still shows the version it saw.
    with live_server.platform.transaction() as session:
        live_server.platform.alerts.acknowledge(
            session, system_principal("other-operator"), stored(live_server, title).id
        )
    expect(alert.locator(".status")).to_have_text("new")
    alert.get_by_role("button", name="Escalate").click()
    expect(alert.locator(".action-error")).to_contain_text("changed since you saw it")
    expect(alert.locator(".status")).to_have_text("acknowledged")


def test_an_incident_is_opened_from_an_alert(
    page: Page, console: RunningConsole, live_server: LiveServer
) -> None:
    open_console(page, console, live_server)
    title = f"Robbery in progress {uuid.uuid4().hex[:6]}"
    publish(console.bus_url, hit(live_server, camera_in(live_server, "bannu"), title))
    alert = row(page, title)
    expect(alert).to_be_visible()
    if alert.get_by_role("button", name="Open incident").count() == 0:
        pytest.skip("this build has no incidents module (POST /api/v1/alerts/{id}/incident)")
    kinds = alert.get_by_label("Incident type").locator("option")
    alert.get_by_label("Incident type").select_option(index=1)
    assert kinds.count() > 1
    # A hotlist hit: the match is confirmed first (the button says so until then).
    expect(alert.get_by_role("button", name="Open incident")).to_be_disabled()
    alert.get_by_role("button", name="Confirm match").click()
    expect(alert.get_by_role("button", name="Open incident")).to_be_enabled()
    alert.get_by_role("button", name="Open incident").click()
    expect(row(page, title)).to_have_count(0)
    linked = stored(live_server, title)
    assert linked.status == "incident"
    assert linked.incident_id is not None
    # The new incident reaches the map through the hub, without a reload.
    expect(page.locator("#console-map")).to_have_attribute("data-incidents", re.compile(r"^[1-9]"))


def plate_hit(live_server: LiveServer, camera: str, title: str) -> AlertRaised:
    """A confusable hotlist hit as the events module raises it: LE81234 read, LEB1234
    listed, with the vehicle and the plate crop on disk."""
    media: Path = live_server.platform.settings.media_dir
    names = {}
    for kind in ("vehicle", "plate"):
        relative = f"alerts/{uuid.uuid4().hex}-{kind}.jpg"
        (media / relative).parent.mkdir(parents=True, exist_ok=True)
        (media / relative).write_bytes(snapshot_jpeg())
        names[kind] = relative
    return alert_message(
        camera,
        title=title,
        priority=1,
        snapshot=names["vehicle"],
        plate_crop=names["plate"],
        plate_text="LE81234",
        reference={
            "plate_read": "1",
            "hotlist_entry": "1",
            "match": "confusable",
            "listed_plate": "LEB1234",
            "reason": "taken at gunpoint, Saddar",
            "source_agency": "CTD Peshawar",
        },
    )


LOADED = "img => img.complete && img.naturalWidth > 0"


def test_a_hotlist_hit_shows_its_plate_crop_and_is_confirmed_before_field_action(
    page: Page, console: RunningConsole, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    open_console(page, console, live_server)
    tag = uuid.uuid4().hex[:6]
    confirmed, rejected = f"Stolen vehicle {tag}", f"Wanted vehicle {tag}"
    camera = camera_in(live_server, "bannu")
    publish(
        console.bus_url,
        plate_hit(live_server, camera, confirmed),
        plate_hit(live_server, camera, rejected),
    )
    alert = row(page, confirmed)
    expect(alert).to_be_visible()
    # The plate crop, loaded, beside the vehicle; read and listed plates with the
    # differing character marked; why the plate is listed.
    crop = alert.locator("img.plate-crop")
    expect(crop).to_be_visible()
    expect(crop).to_have_attribute(
        "src", re.compile(r"/api/v1/alerts/\d+/snapshot\?which=plate&v=1$")
    )
    page.wait_for_function(LOADED, arg=crop.element_handle())
    # Where else the car was read is a search away (it asks for its purpose), if the
    # operator may search plates.
    others = alert.get_by_role("link", name="Other reads")
    operator = principal_of(live_server.platform, live_server.operator)
    if not operator.has_permission("plates.search"):
        expect(others).to_have_count(0)
    else:
        expect(others).to_have_attribute(
            "href", re.compile(r"^/plates\?plate=[A-Z0-9]+&mode=near$")
        )
    # The vehicle's picture is a thumbnail: a click opens it whole, the row stays as it was.
    vehicle = alert.locator("img.snapshot")
    with page.context.expect_page() as opened:
        vehicle.click()
    whole = opened.value
    whole.wait_for_load_state()
    assert re.search(r"/api/v1/alerts/\d+/snapshot\?v=1$", whole.url), whole.url
    whole.close()
    # A later read of the same plate folds into the alert with its own crop: the console
    # loads that crop (the one the operator will judge), not the first one it showed.
    later = plate_hit(live_server, camera, confirmed)
    first = stored(live_server, confirmed)
    publish(console.bus_url, later.model_copy(update={"correlation_key": first.correlation_key}))
    expect(crop).to_have_attribute(
        "src", re.compile(r"/api/v1/alerts/\d+/snapshot\?which=plate&v=2$")
    )
    expect(alert.locator("img.snapshot")).to_have_attribute(
        "src", re.compile(r"/api/v1/alerts/\d+/snapshot\?v=2$")
    )
    page.wait_for_function(LOADED, arg=crop.element_handle())
    assert crop.evaluate("img => img.naturalWidth") > 0
    page.wait_for_function(LOADED, arg=alert.locator("img.snapshot").element_handle())
    expect(alert.locator(".read-plate")).to_have_text("LE81234")
    expect(alert.locator(".listed-plate")).to_have_text("LEB1234")
    expect(alert.locator(".read-plate mark")).to_have_text("8")
    expect(alert.locator(".listed-plate mark")).to_have_text("B")
    expect(alert.locator(".hotlist-why")).to_contain_text("taken at gunpoint, Saddar")
    expect(alert.locator(".match-verdict")).to_contain_text("Match not checked")
    expect(alert.get_by_role("button", name="Open incident")).to_be_disabled()

    alert.get_by_role("button", name="Confirm match").click()
    expect(alert.locator(".status")).to_have_text("acknowledged")
    expect(alert.locator(".match-verdict")).to_contain_text(
        f"Match confirmed by {live_server.operator}"
    )
    expect(alert.get_by_role("button", name="Confirm match")).to_be_hidden()
    expect(alert.get_by_role("button", name="Open incident")).to_be_enabled()
    kept = stored(live_server, confirmed)
    assert (kept.status, kept.match_verdict, kept.match_checked_by) == (
        "acknowledged",
        "confirmed",
        live_server.operator,
    )

    # The other is a false read: rejecting it dismisses it as a misread plate, once the
    # operator has said yes to what that does (a P1 alert is not closed by one click).
    not_a_match = row(page, rejected).get_by_role("button", name="Not a match")
    question = click_answering(page, not_a_match, accept=False)
    assert "dismissed as a misread plate" in question
    assert "cannot be undone" in question
    assert rejected in question
    expect(row(page, rejected).locator(".status")).to_have_text("new")
    expect(not_a_match).to_be_visible()
    unchanged = stored(live_server, rejected)
    assert (unchanged.status, unchanged.match_verdict) == ("new", None)
    click_answering(page, not_a_match, accept=True)
    expect(row(page, rejected)).to_have_count(0)
    gone = stored(live_server, rejected)
    assert (gone.status, gone.dismiss_reason, gone.match_verdict) == (
        "dismissed",
        "misread_plate",
        "rejected",
    )
    summaries = live_server.scalars(
        select(AuditRecord.summary)
        .where(AuditRecord.object_type == "alert", AuditRecord.action == "update")
        .where(AuditRecord.object_id.in_([str(kept.id), str(gone.id)]))
        .order_by(AuditRecord.seq)
    )
    assert [s.split(" alert")[0] for s in summaries] == [
        "confirmed the plate match of",
        "rejected the plate match (misread_plate) of",
    ]
    assert browser_log.console_errors == []


def _stolen(live_server: LiveServer, plate: str, reason: str) -> tuple[int, int]:
    """A stolen-vehicle entry on the hotlist: its id and version."""
    entry = HotlistEntryCreate.model_validate(
        {"plate": plate, "category": "stolen", "reason": reason, "source_agency": "CTD Peshawar"}
    )
    with live_server.platform.transaction() as session:
        created = live_server.platform.hotlists.create(session, system_principal("tests"), entry)
        return created.id, created.version


def test_a_hit_whose_entry_left_the_list_says_so_and_opens_no_incident(
    page: Page, console: RunningConsole, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    platform = live_server.platform
    tag = uuid.uuid4().hex[:6]
    title = f"Stolen vehicle recovered {tag}"
    admin = system_principal("tests")
    entry_id, version = _stolen(live_server, f"RC{tag[:4].upper()}", "taken at gunpoint, Saddar")
    with platform.transaction() as session:  # the car was recovered
        platform.hotlists.deactivate(
            session,
            admin,
            entry_id,
            HotlistEntryRemove(reason="vehicle recovered"),
            expected_version=version,
        )
    message = plate_hit(live_server, camera_in(live_server, "bannu"), title)
    reference = {**message.reference, "hotlist_entry": str(entry_id)}
    open_console(page, console, live_server)
    publish(console.bus_url, message.model_copy(update={"reference": reference}))
    alert = row(page, title)
    expect(alert.locator(".entry-state")).to_be_visible()
    expect(alert.locator(".entry-state")).to_contain_text(
        f"Entry {entry_id} no longer live: taken off the list"
    )
    if alert.get_by_role("button", name="Open incident").count() == 0:
        pytest.skip("this build has no incidents module (POST /api/v1/alerts/{id}/incident)")
    alert.get_by_role("button", name="Confirm match").click()
    expect(alert.locator(".status")).to_have_text("acknowledged")
    # Confirmed, and still no field action: the button says why.
    button = alert.get_by_role("button", name="Open incident")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", "The hotlist entry is no longer live")
    assert browser_log.console_errors == []


def test_live_alerts_take_their_place_by_priority_then_age(
    page: Page, console: RunningConsole, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    open_console(page, console, live_server)
    tag = uuid.uuid4().hex[:6]
    camera = camera_in(live_server, "bannu")
    start = datetime.now(UTC) - timedelta(minutes=5)
    # Out of order on purpose: each must land between the right neighbours, not at the end.
    order = [(3, 0), (1, 1), (2, 2), (1, 3), (4, 4), (2, 5)]
    messages = [
        alert_message(
            camera,
            title=f"Ordered {tag} {n}",
            priority=priority,
            at=start + timedelta(seconds=n),
            correlation_key=f"order:{tag}:{n}",
        )
        for priority, n in order
    ]
    publish(console.bus_url, *messages)
    for _, n in order:
        expect(row(page, f"Ordered {tag} {n}")).to_be_visible()
    shown: list[list[object]] = page.evaluate(
        """() => [...document.querySelectorAll('#alert-queue li.alert')].map((li) => {
             const alert = window.safecityConsole.alerts.get(Number(li.dataset.id));
             return [alert.priority, alert.first_seen, alert.id, alert.title];
           })"""
    )
    keys = [(int(str(p)), str(seen), int(str(i))) for p, seen, i, _ in shown]
    assert keys == sorted(keys), "the queue is sorted by priority, then age"
    ours = [str(title) for *_, title in shown if str(title).startswith(f"Ordered {tag}")]
    assert ours == [f"Ordered {tag} {n}" for n in (1, 3, 2, 5, 0, 4)]


def test_a_live_alert_is_highlighted_for_a_few_seconds_then_looks_like_the_rest(
    page: Page, console: RunningConsole, live_server: LiveServer
) -> None:
    open_console(page, console, live_server)
    tag = uuid.uuid4().hex[:6]
    camera = camera_in(live_server, "bannu")
    fresh = re.compile(r"\bfresh\b")
    first, second = row(page, f"Earlier {tag}"), row(page, f"Later {tag}")
    publish(console.bus_url, alert_message(camera, title=f"Earlier {tag}", priority=2))
    expect(first).to_have_class(fresh)
    time.sleep(3.0)
    publish(console.bus_url, alert_message(camera, title=f"Later {tag}", priority=2))
    expect(second).to_have_class(fresh)
    # Each highlight ends on its own time, not all at once when the newest one ends.
    expect(first).not_to_have_class(fresh, timeout=6_000)
    expect(second).to_have_class(fresh)
    expect(second).not_to_have_class(fresh, timeout=8_000)


def test_a_flood_holds_at_most_the_row_limit_and_refills_as_rows_leave(
    page: Page, console: RunningConsole, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    """The page holds ``console_queue_rows`` rows at most (20 here, the least allowed):
    the least urgent beyond it are let go and counted, and come back once handled rows
    leave room."""
    platform = live_server.platform
    settings = platform.settings
    platform.settings = settings.model_copy(update={"console_queue_rows": 20})
    try:
        open_console(page, console, live_server)
    finally:
        platform.settings = settings
    root = page.locator("#console")
    expect(root).to_have_attribute("data-queue-rows", "20")
    # Priority 5 only: no other test raises one, so the queue starts empty.
    page.locator("#queue-filters select[name=priority]").select_option("5")
    expect(root).to_have_attribute("data-alert-count", "0")
    tag = uuid.uuid4().hex[:6]
    camera = camera_in(live_server, "bannu")
    start = datetime.now(UTC) - timedelta(minutes=5)
    publish(
        console.bus_url,
        *(
            alert_message(
                camera,
                title=f"Flood {tag} {n:02d}",
                priority=5,
                at=start + timedelta(seconds=n),
                correlation_key=f"flood:{tag}:{n}",
            )
            for n in range(22)
        ),
    )
    expect(row(page, f"Flood {tag} 19")).to_be_visible()  # the oldest twenty are held
    expect(root).to_have_attribute("data-alert-count", "20")
    expect(root).to_have_attribute("data-alerts-beyond", "2")
    expect(page.locator("#queue-count")).to_have_text("20 open (showing 20 of 22)")
    for n in (20, 21):
        expect(row(page, f"Flood {tag} {n}")).to_have_count(0)

    for n in (0, 1):
        handled = row(page, f"Flood {tag} {n:02d}")
        handled.get_by_label("Reason to dismiss").select_option("misread_plate")
        click_answering(page, handled.get_by_role("button", name="Dismiss"), accept=True)
        expect(handled).to_have_count(0)
    # Two rows left: the queue is loaded again and the two let go come back.
    for n in (20, 21):
        expect(row(page, f"Flood {tag} {n}")).to_be_visible()
    expect(root).to_have_attribute("data-alerts-beyond", "0")
    expect(page.locator("#queue-count")).to_have_text("20 open")
    assert browser_log.console_errors == []


def test_a_p1_nobody_has_taken_stays_marked_counts_in_the_title_and_sounds(
    page: Page, console: RunningConsole, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    """At 3 a.m. the console may be a background tab: a P1 still new stays marked past
    the few seconds of a fresh row, shows in the tab's title until acknowledged, and a
    live one plays the tone (a P2 does not)."""
    open_console(page, console, live_server)
    tag = uuid.uuid4().hex[:6]
    camera = camera_in(live_server, "bannu")
    root = page.locator("#console")
    waiting = int(root.get_attribute("data-urgent") or "0")
    expect(page.locator("#urgent-sound")).to_be_checked()
    publish(console.bus_url, alert_message(camera, title=f"Routine {tag}", priority=2))
    expect(row(page, f"Routine {tag}")).to_be_visible()
    assert root.get_attribute("data-sounded") is None
    publish(console.bus_url, alert_message(camera, title=f"Urgent {tag}", priority=1))
    urgent = row(page, f"Urgent {tag}")
    expect(urgent).to_have_class(re.compile(r"\burgent\b"))
    expect(row(page, f"Routine {tag}")).not_to_have_class(re.compile(r"\burgent\b"))
    expect(root).to_have_attribute("data-urgent", str(waiting + 1))
    expect(root).to_have_attribute("data-sounded", "1")
    assert page.title().startswith(f"({waiting + 1}) P1 waiting · ")
    # Past the fresh highlight it is still marked.
    expect(urgent).not_to_have_class(re.compile(r"\bfresh\b"), timeout=8_000)
    expect(urgent).to_have_class(re.compile(r"\burgent\b"))
    urgent.get_by_role("button", name="Acknowledge").click()
    expect(urgent.locator(".status")).to_have_text("acknowledged")
    expect(urgent).not_to_have_class(re.compile(r"\burgent\b"))
    expect(root).to_have_attribute("data-urgent", str(waiting))
    if waiting == 0:
        assert not page.title().startswith("(")
    # Sound off stays off for this browser, and no tone plays.
    page.locator("#urgent-sound").uncheck()
    page.reload()
    expect(root).to_have_attribute("data-ready", "1")
    expect(page.locator("#urgent-sound")).not_to_be_checked()
    publish(console.bus_url, alert_message(camera, title=f"Quiet {tag}", priority=1))
    expect(row(page, f"Quiet {tag}")).to_have_class(re.compile(r"\burgent\b"))
    assert root.get_attribute("data-sounded") is None
    assert browser_log.console_errors == []


def test_a_hit_on_the_screen_says_so_the_moment_its_entry_leaves_the_list(
    page: Page, console: RunningConsole, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    """The operator is looking at a live hit when the vehicle is reported recovered and
    its entry removed: the card changes without a reload."""
    platform = live_server.platform
    tag = uuid.uuid4().hex[:6]
    title = f"Stolen vehicle seen {tag}"
    entry_id, version = _stolen(live_server, f"RS{tag[:4].upper()}", "taken outside a school")
    message = plate_hit(live_server, camera_in(live_server, "bannu"), title)
    reference = {**message.reference, "hotlist_entry": str(entry_id)}
    open_console(page, console, live_server)
    publish(console.bus_url, message.model_copy(update={"reference": reference}))
    alert = row(page, title)
    expect(alert).to_be_visible()
    expect(alert.locator(".entry-state")).to_be_hidden()
    removed = httpx.request(
        "DELETE",
        f"{console.base_url}/api/v1/hotlists/entries/{entry_id}",
        json={"reason": "vehicle recovered"},
        headers={
            "Authorization": f"Bearer {token_for(platform, 'admin')}",
            "If-Match": f'"{version}"',
        },
        timeout=30,
    )
    assert removed.status_code == 200, removed.text
    expect(alert.locator(".entry-state")).to_contain_text(
        f"Entry {entry_id} no longer live: taken off the list"
    )
    assert browser_log.console_errors == []
