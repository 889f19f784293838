"""Recording modes on the camera (API, form), event segments in the index, retention settings."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.audit.context import SYSTEM
from safecity.contracts.ingest import CameraHealth, HealthProblem, SegmentClosed
from safecity.core.clock import utcnow
from safecity.core.errors import ConfigError
from safecity.core.settings import Settings
from safecity.recordings.models import CameraHealthState, RecordingSegment
from safecity.registry.models import Camera
from safecity.web.platform import Platform, retention_policy
from tests.factories import World, make_user, token_for


def _headers(platform: Platform, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(platform, username)}", "X-Purpose": "setup"}


def test_recording_mode_is_set_through_the_api_and_audited(
    client: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "eng-mode", ["engineer"], districts=["peshawar"])
    headers = _headers(platform, "eng-mode")
    url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}"
    assert client.get(url, headers=headers).json()["recording_mode"] == "continuous"

    changed = client.patch(url, json={"recording_mode": "events"}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["recording_mode"] == "events"
    wrong = client.patch(url, json={"recording_mode": "sometimes"}, headers=headers)
    assert wrong.status_code == 422
    assert "recording_mode" in wrong.text
    with platform.sessions() as session:
        camera = session.get(Camera, world.cameras["PSH-TC1"])
        assert camera is not None
        assert camera.recording_mode == "events"

    exported = client.get("/api/v1/cameras/export?format=csv", headers=headers)
    header, *rows = exported.text.splitlines()
    assert "recording_mode" in header.split(",")
    assert any(",events," in row for row in rows if row.startswith("PSH-TC1,"))


def _event_segment(platform: Platform, code: str, days_ago: float) -> SegmentClosed:
    relative = f"{code}/event-{days_ago}.mp4"
    path = platform.settings.media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"event footage " + str(days_ago).encode())
    start = utcnow() - timedelta(days=days_ago)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return SegmentClosed(
        message_id=digest,
        camera_id=code,
        path=relative,
        started_at=start,
        ended_at=start + timedelta(seconds=8),
        duration_seconds=8,
        size_bytes=path.stat().st_size,
        sha256=digest,
        codec="h264",
        width=640,
        height=360,
        frames=80,
        key_frames=4,
        kind="event",
    )


def test_event_segments_are_indexed_as_such_and_kept_longer(
    platform: Platform, world: World
) -> None:
    with platform.transaction() as session:
        for days in (40, 100):
            platform.recordings.index_segment(session, _event_segment(platform, "PSH-TC1", days))
    with platform.sessions() as session:
        kinds = session.scalars(select(RecordingSegment.kind)).all()
    assert kinds == ["event", "event"]
    # Public cameras: continuous footage 30 days, event footage 90 days.
    with platform.transaction() as session:
        result, files = platform.recordings.sweep(session, platform.retention, SYSTEM)
    assert [f.name for f in files] == ["event-100.mp4"]
    assert len(result.expired) == 1


def test_retention_periods_come_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFECITY_RETENTION_DAYS", '{"public": 7, "school": 3}')
    monkeypatch.setenv("SAFECITY_RETENTION_EVENT_DAYS", '{"public": 60}')
    policy = retention_policy(Settings(data_dir=tmp_path))
    assert dict(policy.days_by_class) == {"public": 7, "school": 3}
    assert dict(policy.event_days_by_class) == {"public": 60}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SAFECITY_RETENTION_DAYS", '{"publik": 7}', "unknown camera class 'publik'"),
        ("SAFECITY_RETENTION_DAYS", '{"public": 0}', "between 1 and 3650 days, not 0"),
        ("SAFECITY_RETENTION_EVENT_DAYS", "{}", "at least one camera class"),
    ],
)
def test_a_wrong_retention_setting_is_refused_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        retention_policy(Settings(data_dir=tmp_path))
    assert variable in str(raised.value)
    assert message in str(raised.value)


def test_the_camera_clock_offset_is_stored_and_shown(
    client: TestClient, platform: Platform, world: World
) -> None:
    drift = HealthProblem(code="clock_drift", detail="camera clock +30.2 s", since=utcnow())
    with platform.transaction() as session:
        platform.recordings.record_health(
            session,
            CameraHealth(
                camera_id="PSH-TC1",
                state="streaming",
                state_since=utcnow(),
                fps=10,
                bitrate_bps=5e5,
                reconnects=0,
                recording=True,
                segments_closed=1,
                frames_dropped=0,
                problems=(drift,),
                clock_offset_seconds=30.2,
            ),
        )
    with platform.sessions() as session:
        state = session.get(CameraHealthState, world.cameras["PSH-TC1"])
        assert state is not None
        assert state.clock_offset_seconds == 30.2
        assert state.problems[0]["code"] == "clock_drift"
    make_user(platform, "eng-clock", ["engineer"], districts=["peshawar"])
    page = client.get(
        f"/cameras/{world.cameras['PSH-TC1']}", headers=_headers(platform, "eng-clock")
    )
    assert "clock +30.2 s" in page.text
