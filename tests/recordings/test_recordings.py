"""Recorded segments: indexed from the bus facts, listed and played through the permission
filter with an audit record, removed by retention except under legal hold."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.audit.context import SYSTEM
from safecity.audit.models import AuditRecord
from safecity.bus.nats import NatsBus
from safecity.bus.server import NatsServer
from safecity.contracts.ingest import CameraHealth, HealthProblem, SegmentClosed
from safecity.recordings.models import HealthEpisode, LegalHold, RecordingSegment
from safecity.recordings.retention import RetentionPolicy
from safecity.web.app import create_app
from safecity.web.platform import Platform
from tests.factories import World, make_user, token_for

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def _clip(path: Path, seconds: int = 1) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(10 * seconds):
            frame = np.full((120, 160, 3), (i * 20) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


def _closed(camera: str, rel: str, data: bytes, start: datetime) -> SegmentClosed:
    return SegmentClosed(
        camera_id=camera,
        path=rel,
        started_at=start,
        ended_at=start + timedelta(seconds=10),
        duration_seconds=10,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        codec="h264",
        width=160,
        height=120,
        frames=10,
        key_frames=1,
    )


def _index(platform: Platform, camera: str, minute: int) -> tuple[int, bytes]:
    rel = f"{camera}/{minute:04d}.mp4"
    data = _clip(platform.settings.media_dir / rel)
    with platform.transaction() as session:
        segment = platform.recordings.index_segment(
            session, _closed(camera, rel, data, T0 + timedelta(minutes=minute))
        )
        assert segment is not None
        return segment.id, data


def test_segments_are_listed_and_played_in_scope_only(
    client: TestClient, platform: Platform, world: World
) -> None:
    own, data = _index(platform, "PSH-TC1", 1)
    other, _ = _index(platform, "BNU-TC1", 1)
    with platform.transaction() as session:  # the same fact again is indexed once
        again = platform.recordings.index_segment(
            session, _closed("PSH-TC1", "PSH-TC1/0001.mp4", data, T0 + timedelta(minutes=1))
        )
        assert again is not None
        assert again.id == own
    make_user(platform, "op-rec", ["operator"], districts=["peshawar"])
    headers = {
        "Authorization": f"Bearer {token_for(platform, 'op-rec')}",
        "X-Purpose": "incident 42 review",
    }
    window = {"since": T0.isoformat(), "until": (T0 + timedelta(hours=1)).isoformat()}
    listed = client.get(
        f"/api/v1/cameras/{world.cameras['PSH-TC1']}/recordings", params=window, headers=headers
    )
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()["items"]] == [own]
    video = client.get(f"/api/v1/recordings/{own}/video", headers=headers)
    assert video.status_code == 200
    assert video.content == data, "played exactly as recorded"
    part = client.get(f"/api/v1/recordings/{own}/video", headers={**headers, "Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == data[:100]
    assert client.get(f"/api/v1/recordings/{other}/video", headers=headers).status_code == 404
    assert (
        client.get(
            f"/api/v1/cameras/{world.cameras['BNU-TC1']}/recordings", params=window, headers=headers
        ).status_code
        == 404
    )
    with platform.sessions() as session:
        views = session.scalars(
            select(AuditRecord).where(
                AuditRecord.object_type == "recording", AuditRecord.action == "view"
            )
        ).all()
    assert [(v.actor_name, v.purpose) for v in views] == [("op-rec", "incident 42 review")] * 2


def test_a_field_unit_may_not_watch_footage(
    client: TestClient, platform: Platform, world: World
) -> None:
    own, _ = _index(platform, "PSH-TC1", 2)
    make_user(platform, "unit-7", ["field_unit"], districts=["peshawar"])
    headers = {"Authorization": f"Bearer {token_for(platform, 'unit-7')}"}
    assert client.get(f"/api/v1/recordings/{own}/video", headers=headers).status_code == 403


def test_too_long_or_backwards_ranges_are_refused(
    client: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "op-range", ["operator"], districts=["peshawar"])
    headers = {"Authorization": f"Bearer {token_for(platform, 'op-range')}"}
    url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}/recordings"
    week = client.get(
        url,
        params={"since": T0.isoformat(), "until": (T0 + timedelta(days=7)).isoformat()},
        headers=headers,
    )
    assert week.status_code == 422
    backwards = client.get(
        url,
        params={"since": T0.isoformat(), "until": (T0 - timedelta(hours=1)).isoformat()},
        headers=headers,
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"]["field"] == "until"


def test_retention_spares_footage_under_legal_hold(platform: Platform, world: World) -> None:
    held, _ = _index(platform, "PSH-TC1", 3)
    free, _ = _index(platform, "PSH-TC1", 20)
    with platform.transaction() as session:
        session.add(
            LegalHold(
                camera_id=world.cameras["PSH-TC1"],
                starts_at=T0,
                ends_at=T0 + timedelta(minutes=5),
                case_reference="FIR 118/2026",
                reason="assault at the junction",
                created_by="inv",
            )
        )
    policy = RetentionPolicy(days_by_class={"public": 1})
    later = T0 + timedelta(days=3)
    with platform.transaction() as session:
        result, files = platform.recordings.sweep(session, policy, SYSTEM, now=later)
    assert result.delete == [free]
    assert [f.name for f in files] == ["0020.mp4"]
    assert all(f.exists() for f in files), "files go only after the index commits"
    with platform.sessions() as session:
        rows = {s.id: s.deleted_at for s in session.scalars(select(RecordingSegment))}
    assert rows[held] is None
    assert rows[free] is not None


def test_health_reports_open_and_clear_episodes(platform: Platform, world: World) -> None:
    def report(problems: tuple[HealthProblem, ...], at: datetime) -> CameraHealth:
        return CameraHealth(
            camera_id="PSH-TC2",
            state="streaming",
            state_since=T0,
            fps=10,
            bitrate_bps=5e5,
            reconnects=0,
            recording=True,
            segments_closed=3,
            frames_dropped=0,
            problems=problems,
            emitted_at=at,
        )

    frozen = HealthProblem(code="frozen", detail="same image for 30 s", since=T0)
    for problems, minute in (((frozen,), 1), ((frozen,), 2), ((), 3)):
        with platform.transaction() as session:
            platform.recordings.record_health(
                session, report(problems, T0 + timedelta(minutes=minute))
            )
    with platform.sessions() as session:
        episodes = session.scalars(select(HealthEpisode)).all()
    assert [(e.code, e.started_at, e.cleared_at) for e in episodes] == [
        ("frozen", T0, T0 + timedelta(minutes=3))
    ]


@pytest.mark.nats
def test_segments_published_on_the_bus_are_indexed(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    rel = "PSH-TC1/bus.mp4"
    data = _clip(platform.settings.media_dir / rel)
    with NatsServer(tmp_path / "nats") as server:
        app = create_app(platform, bus_url=server.url)

        async def publish() -> None:
            bus = await NatsBus.connect(server.url)
            try:
                await bus.publish(_closed("PSH-TC1", rel, data, T0))
            finally:
                await bus.close()

        with TestClient(app):
            asyncio.run(publish())
            deadline = datetime.now(UTC) + timedelta(seconds=10)
            found = None
            while found is None and datetime.now(UTC) < deadline:
                with platform.sessions() as session:
                    found = session.scalars(
                        select(RecordingSegment).where(RecordingSegment.path == rel)
                    ).first()
                asyncio.run(asyncio.sleep(0.1))
    assert found is not None
    assert found.sha256 == hashlib.sha256(data).hexdigest()


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def test_clip_joins_segments_without_re_encoding(
    client: TestClient, platform: Platform, world: World
) -> None:
    sources = []
    for second in range(3):
        rel = f"PSH-TC1/clip{second}.mp4"
        data = _clip(platform.settings.media_dir / rel)
        sources.append(platform.settings.media_dir / rel)
        with platform.transaction() as session:
            platform.recordings.index_segment(
                session, _closed("PSH-TC1", rel, data, T0 + timedelta(seconds=second))
            )
    make_user(platform, "inv-clip", ["investigator"], districts=["peshawar"])
    make_user(platform, "op-clip", ["operator"], districts=["peshawar"])
    window = {"since": T0.isoformat(), "until": (T0 + timedelta(seconds=3)).isoformat()}
    url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}/clip"
    refused = client.get(
        url, params=window, headers={"Authorization": f"Bearer {token_for(platform, 'op-clip')}"}
    )
    assert refused.status_code == 403
    response = client.get(
        url,
        params=window,
        headers={
            "Authorization": f"Bearer {token_for(platform, 'inv-clip')}",
            "X-Purpose": "FIR 77/2026",
        },
    )
    assert response.status_code == 200, response.text
    clip = platform.settings.data_dir / "received.mp4"
    clip.write_bytes(response.content)
    expected = [packet for source in sources for packet in _packets(source)]
    assert _packets(clip) == expected, "every packet is the camera's own, in order"
    with av.open(str(clip)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 30
    with platform.sessions() as session:
        exports = session.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "export", AuditRecord.object_type == "recording"
            )
        ).all()
    assert [(e.actor_name, e.purpose) for e in exports] == [("inv-clip", "FIR 77/2026")]
