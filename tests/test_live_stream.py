"""Live view over a WebSocket: who may watch, what arrives, and the audit trail.

A real GStreamer RTSP server serves a PyAV-made H.264 clip as camera PSH-TC1;
the application remuxes it to fragmented MP4 (or re-encodes it with the privacy
masks burned in) and sends it over ``/ws/live/{camera_id}``.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from safecity.audit.models import AuditRecord
from safecity.identity.system import system_principal
from safecity.registry.privacy import mask_matrix
from safecity.registry.schemas import CameraUpdate
from safecity.sim.rtsp import RtspMount, RtspServer, gstreamer_unavailable_reason
from safecity.web import live
from safecity.web.app import create_app
from safecity.web.platform import Platform
from tests.api.test_contracts import sign_in
from tests.factories import World, make_user
from tests.ingest.clips import write_clip

IN_CI = os.environ.get("CI", "").lower() == "true"
MASK = [[0.5, 0.5], [1.0, 0.5], [1.0, 1.0], [0.5, 1.0]]  # the bottom-right quarter


@pytest.fixture(scope="module")
def rtsp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    reason = gstreamer_unavailable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"GStreamer's RTSP server is required in CI: {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("live-rtsp")
    clip = write_clip(root / "clip.mp4", key_every_seconds=1)
    with RtspServer([RtspMount("cam", clip)], log_path=root / "rtsp.log") as server:
        yield server


def app_with_live(platform: Platform) -> TestClient:
    app = create_app(platform)
    if not any(getattr(r, "path", "") == "/ws/live/{camera_id}" for r in app.routes):
        app.include_router(live.router)  # until the lead includes it in create_app
    return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture
def camera(platform: Platform, world: World, rtsp: RtspServer) -> int:
    camera_id = world.cameras["PSH-TC1"]
    with platform.transaction() as session:
        platform.registry.update_camera(
            session,
            system_principal("tests"),
            camera_id,
            CameraUpdate(main_stream_url=rtsp.url("cam")),
            expected_version=None,
        )
    make_user(platform, "psh-op", ["operator"], districts=["peshawar"])
    make_user(platform, "bnu-op", ["operator"], districts=["bannu"])
    make_user(platform, "psh-field", ["field_unit"], districts=["peshawar"])
    return camera_id


def cookie_header(client: TestClient) -> dict[str, str]:
    """The session cookie, as a browser sends it with the upgrade request.

    TestClient's cookie jar does not match ws:// URLs, so it is sent by hand.
    """
    session = client.cookies.get("safecity_session")
    return {"cookie": f"safecity_session={session}"} if session else {}


def refusal(client: TestClient, camera_id: int) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as caught,
        client.websocket_connect(f"/ws/live/{camera_id}", headers=cookie_header(client)) as socket,
    ):
        socket.receive_text()
    return caught.value.code


def receive_stream(
    client: TestClient, camera_id: int, fragments: int
) -> tuple[dict[str, object], bytes, list[bytes]]:
    with client.websocket_connect(f"/ws/live/{camera_id}", headers=cookie_header(client)) as socket:
        header = json.loads(socket.receive_text())
        init = socket.receive_bytes()
        media = [socket.receive_bytes() for _ in range(fragments)]
    return header, init, media


def test_refusals_never_leak(platform: Platform, camera: int) -> None:
    with app_with_live(platform) as client:
        assert refusal(client, camera) == live.CLOSE_NOT_SIGNED_IN
        sign_in(client, "bnu-op")
        assert refusal(client, camera) == live.CLOSE_NOT_FOUND
        assert refusal(client, 999_999) == live.CLOSE_NOT_FOUND
    with app_with_live(platform) as client:
        sign_in(client, "psh-field")
        assert refusal(client, camera) == live.CLOSE_FORBIDDEN


def test_operator_in_scope_gets_fragmented_mp4_and_is_audited(
    platform: Platform, camera: int
) -> None:
    with app_with_live(platform) as client:
        sign_in(client, "psh-op")
        header, init, media = receive_stream(client, camera, 15)
    assert str(header["codec"]).startswith("avc1.")
    assert header["masked"] is False
    kinds = [kind for kind, _ in live.boxes(init)]
    assert kinds == [b"ftyp", b"moov"]
    assert all(b"moof" in fragment for fragment in media)
    assert all(b"mdat" in fragment for fragment in media)
    # A copy, not a re-encode: the stream plays from its first frame, a key frame.
    frames = list(av.open(io.BytesIO(init + b"".join(media)), mode="r").decode(video=0))
    assert len(frames) >= 10
    assert frames[0].key_frame
    with platform.transaction() as session:
        records = list(
            session.scalars(
                select(AuditRecord).where(
                    AuditRecord.object_type == "live", AuditRecord.object_id == str(camera)
                )
            )
        )
    assert [r.action for r in records] == ["view"]
    assert records[0].actor_name == "psh-op"
    assert records[0].purpose == "Administration"


def test_privacy_masks_are_burned_in(platform: Platform, camera: int) -> None:
    with platform.transaction() as session:
        platform.registry.update_camera(
            session,
            system_principal("tests"),
            camera,
            CameraUpdate(privacy_masks=[{"points": MASK, "label": "a home"}]),
            expected_version=None,
        )
    with app_with_live(platform) as client:
        sign_in(client, "psh-op")
        header, init, media = receive_stream(client, camera, 10)
    assert header["masked"] is True
    frames = list(av.open(io.BytesIO(init + b"".join(media)), mode="r").decode(video=0))
    assert frames, "no frame decoded from the masked rendition"
    for frame in frames:
        image = frame.to_ndarray(format="rgb24")
        height, width = image.shape[:2]
        assert float(image[height // 2 + 8 :, width // 2 + 8 :].mean()) < 8.0
        assert float(image[: height // 2 - 8, : width // 2 - 8].mean()) > 20.0


def test_mask_matrix_fills_the_polygon() -> None:
    matrix = mask_matrix([tuple((x, y) for x, y in MASK)], 8, 4)
    expected = np.zeros((4, 8), dtype=bool)
    expected[2:, 4:] = True
    assert (matrix == expected).all()


def test_codec_string_reads_the_avcc_box() -> None:
    assert live.codec_string(b"....avcC\x01\x64\x00\x1e....") == "avc1.64001E"
    assert live.codec_string(b"no box") == live.DEFAULT_CODEC
