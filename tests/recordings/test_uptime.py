"""The uptime report makes dark cameras impossible to miss."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from safecity.contracts.ingest import CameraHealth, HealthProblem
from safecity.core.clock import utcnow
from safecity.identity.system import system_principal
from safecity.recordings.uptime import uptime_report
from safecity.web.platform import Platform
from tests.factories import World, make_user, token_for


def _report(platform: Platform, code: str, *, problems: tuple[HealthProblem, ...] = ()) -> None:
    now = utcnow()
    message = CameraHealth(
        camera_id=code,
        state="streaming" if not problems else "reconnecting",
        state_since=now - timedelta(hours=1),
        fps=10,
        bitrate_bps=4e5,
        reconnects=0,
        recording=not problems,
        segments_closed=1,
        frames_dropped=0,
        problems=problems,
    )
    with platform.transaction() as session:
        platform.recordings.record_health(session, message)


def test_dark_and_silent_cameras_count_as_down(platform: Platform, world: World) -> None:
    _report(platform, "PSH-TC1")
    day_ago = utcnow() - timedelta(days=1)
    _report(platform, "PSH-TC2", problems=(HealthProblem(code="offline", since=day_ago),))
    # BNU-TC1 never reports.
    with platform.transaction() as session:
        rows = {
            r.group: r
            for r in uptime_report(
                session, platform.audit, system_principal("t"), grouping="district", days=7
            )
        }
    peshawar, bannu = rows["Peshawar"], rows["Bannu"]
    assert (peshawar.cameras, peshawar.up_now, peshawar.down_cameras) == (2, 1, ["PSH-TC2"])
    # One camera down for one day of seven, the other up all week: about 93 % uptime.
    assert 92.0 < peshawar.uptime_pct < 93.5
    assert (bannu.never_reported, bannu.up_now, bannu.uptime_pct) == (1, 0, 0.0)


def test_health_page_and_csv_follow_scope(
    client: TestClient, platform: Platform, world: World
) -> None:
    _report(platform, "PSH-TC1")
    make_user(platform, "eng-health", ["engineer"], districts=["peshawar"])
    headers = {"Authorization": f"Bearer {token_for(platform, 'eng-health')}"}
    page = client.get("/health?group=vendor", headers=headers)
    assert page.status_code == 200
    assert "1</strong> of <strong>2</strong>" in page.text
    csv_text = client.get("/health?group=district&format=csv", headers=headers).text
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("district,cameras,up_now")
    assert lines[1].startswith("Peshawar,2,1,50.0")
    assert "BNU" not in csv_text


def test_camera_page_shows_stream_health(
    client: TestClient, platform: Platform, world: World
) -> None:
    frozen = HealthProblem(code="frozen", detail="same picture for 40 s", since=utcnow())
    _report(platform, "PSH-TC1", problems=(frozen,))
    make_user(platform, "op-page", ["operator"], districts=["peshawar"])
    headers = {"Authorization": f"Bearer {token_for(platform, 'op-page')}"}
    reported = client.get(f"/cameras/{world.cameras['PSH-TC1']}", headers=headers).text
    assert "frozen" in reported
    assert "same picture for 40 s" in reported
    silent = client.get(f"/cameras/{world.cameras['PSH-TC2']}", headers=headers).text
    assert "never reported" in silent


def test_health_csv_guards_names_people_typed(
    client: TestClient, platform: Platform, world: World
) -> None:
    """A vendor typed as a spreadsheet formula comes out as text in the export."""
    from sqlalchemy import select

    from safecity.registry.models import Camera

    with platform.transaction() as session:
        camera = session.scalars(select(Camera).where(Camera.code == "PSH-TC1")).one()
        camera.vendor = '=HYPERLINK("http://example.invalid","x")'
    _report(platform, "PSH-TC1")
    make_user(platform, "eng-csv", ["engineer"], districts=["peshawar"])
    headers = {"Authorization": f"Bearer {token_for(platform, 'eng-csv')}"}
    csv_text = client.get("/health?group=vendor&format=csv", headers=headers).text
    assert "'=HYPERLINK(" in csv_text
    assert "\n=HYPERLINK(" not in csv_text
    assert '\n"=HYPERLINK(' not in csv_text
