"""Building a small world through the real services (so it is audited like real data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from safecity.identity.models import User
from safecity.identity.permissions import Principal
from safecity.identity.schemas import UserCreate
from safecity.identity.system import system_principal
from safecity.registry.schemas import CameraCreate, SiteCreate
from safecity.web.platform import Platform

PASSWORD = "Correct-Horse-42"


@dataclass
class World:
    """Peshawar (in scope of the scoped users) and Bannu (out of scope)."""

    sites: dict[str, int] = field(default_factory=dict)
    cameras: dict[str, int] = field(default_factory=dict)


def build_world(platform: Platform) -> World:
    world = World()
    admin = system_principal("tests")
    with platform.transaction() as session:
        for code, district, lat, lon in (
            ("PSH-T1", "peshawar", 34.01, 71.52),
            ("PSH-T2", "peshawar", 34.02, 71.55),
            ("BNU-T1", "bannu", 32.98, 70.60),
        ):
            site = platform.registry.create_site(
                session,
                admin,
                SiteCreate(
                    code=code,
                    name=f"Test site {code}",
                    district=district,
                    site_type="intersection",
                    latitude=lat,
                    longitude=lon,
                    rollout_status="live",
                ),
            )
            world.sites[code] = site.id
        for code, site_code, status in (
            ("PSH-TC1", "PSH-T1", "online"),
            ("PSH-TC2", "PSH-T2", "offline"),
            ("BNU-TC1", "BNU-T1", "online"),
        ):
            camera = platform.registry.create_camera(
                session,
                admin,
                CameraCreate(
                    code=code,
                    site=site_code,
                    name=f"Camera {code}",
                    status=status,
                    main_stream_url=f"rtsp://admin:s3cret-{code}@10.0.0.1:554/ch1",
                    purpose="Traffic",
                    legal_basis="Safe Cities programme",
                ),
            )
            world.cameras[code] = camera.id
    return world


def make_user(
    platform: Platform,
    username: str,
    roles: list[str],
    *,
    districts: list[str] | None = None,
    all_districts: bool = False,
    cameras: list[int] | None = None,
) -> Principal:
    with platform.transaction() as session:
        platform.identity.create_user(
            session,
            system_principal("tests"),
            UserCreate(
                username=username,
                password=PASSWORD,
                roles=roles,
                districts=districts or [],
                all_districts=all_districts,
                cameras=cameras or [],
            ),
        )
    return principal_of(platform, username)


def principal_of(platform: Platform, username: str) -> Principal:
    from safecity.audit.context import AuditContext

    with platform.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return platform.identity.principal_for(
            session,
            user,
            AuditContext(
                actor_id=user.id, actor_name=username, request_id="test", purpose="testing"
            ),
        )


def token_for(platform: Platform, username: str) -> str:
    with platform.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        _, raw = platform.identity.create_token(
            session, system_principal("tests").audit, user=user, name="test"
        )
    return raw


def record_segment(
    platform: Platform,
    code: str,
    name: str = "seg",
    minutes_ago: float = 20,
    *,
    shade: int | None = None,
) -> int:
    """A real, tiny H.264 recording of camera ``code``, indexed as ingest would have it.

    Its frames darken to light (0, 40, ... 160), or are all ``shade`` when given."""
    import hashlib
    from datetime import timedelta

    import av
    import numpy as np

    from safecity.contracts.ingest import SegmentClosed
    from safecity.core.clock import utcnow

    relative = f"{code}/{name}.mp4"
    path = platform.settings.media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            image = np.full((48, 64, 3), i * 40 if shade is None else shade, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode())
    data = path.read_bytes()
    start = utcnow() - timedelta(minutes=minutes_ago)
    message = SegmentClosed(
        camera_id=code,
        path=relative,
        started_at=start,
        ended_at=start + timedelta(seconds=1),
        duration_seconds=1,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        codec="h264",
        width=64,
        height=48,
        frames=5,
        key_frames=1,
    )
    with platform.transaction() as session:
        segment = platform.recordings.index_segment(session, message)
        if segment is None:
            raise LookupError(f"camera {code} is not registered")
        return segment.id
