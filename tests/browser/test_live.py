"""Live view in chromium: a simulated RTSP camera through the WebSocket into MSE, and
its glass-to-glass latency read from the frame counter burned into the picture.

The RTSP server plays every clip on one timeline that starts with the server:
frame ``(now - start) * fps`` (modulo the clip's length) is the one the camera
sends now. The clip is all key frames, so the server starts a new client at the
frame of the timeline (with a GOP it would start at the key frame before, and
the measurement would include that offset). The frame shown in the page is read
from the video element through a canvas.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import uvicorn
from av.video.frame import PictureType
from playwright.sync_api import Page, expect
from sqlalchemy import ColumnElement, select

from safecity.contracts.ingest import SegmentClosed
from safecity.identity.system import system_principal
from safecity.registry.models import Camera
from safecity.registry.schemas import CameraUpdate
from safecity.sim.counter import read_counter
from safecity.sim.render import render_city
from safecity.sim.rtsp import RtspMount, RtspServer, gstreamer_unavailable_reason
from safecity.web import app as app_module
from safecity.web import live
from safecity.web.app import create_app
from safecity.web.security import content_security_policy
from tests.browser.support import DEFAULT_PURPOSE, LiveServer

pytestmark = pytest.mark.browser

IN_CI = os.environ.get("CI", "").lower() == "true"
FPS = 10
WIDTH, HEIGHT = 640, 360
SECONDS = 20
LATENCY_LIMIT_SECONDS = 1.5
SAMPLES = 15


@dataclass(frozen=True)
class Camera1:
    server: RtspServer
    started: float  # time.monotonic() when the server answered: its timeline's start
    frames: int
    camera_id: int
    clip: Path


def all_key_frames(source: Path, target: Path) -> int:
    """Re-encode ``source`` with every frame a key frame; returns the frame count."""
    count = 0
    with av.open(str(source)) as clip, av.open(str(target), "w") as output:
        stream = output.add_stream(
            "libx264", rate=FPS, options={"preset": "veryfast", "tune": "zerolatency"}
        )
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.gop_size = 1
        for frame in clip.decode(video=0):
            frame.pict_type = PictureType.NONE
            frame.pts = count
            frame.time_base = Fraction(1, FPS)
            output.mux(stream.encode(frame))
            count += 1
        output.mux(stream.encode(None))
    return count


@pytest.fixture(scope="module")
def camera(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Camera1]:
    reason = gstreamer_unavailable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"GStreamer's RTSP server is required in CI: {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("live-camera")
    render_city(7, SECONDS, root, cameras=1, width=WIDTH, height=HEIGHT, fps=FPS)
    rendered = next(p for p in root.glob("*.mp4"))
    frames = all_key_frames(rendered, root / "intra.mp4")
    platform = live_server.platform
    with platform.transaction() as session:
        camera_id = session.scalar(
            select(Camera.id).where(live_server_scope(live_server)).order_by(Camera.code).limit(1)
        )
    assert camera_id is not None, "no demo camera in the operator's district"
    server = RtspServer([RtspMount("cam", root / "intra.mp4")], log_path=root / "rtsp.log")
    server.start()
    started = time.monotonic()
    try:
        url = server.url("cam")
        with platform.transaction() as session:
            platform.registry.update_camera(
                session,
                system_principal("tests"),
                camera_id,
                CameraUpdate(main_stream_url=url, sub_stream_url=url, privacy_masks=[]),
                expected_version=None,
            )
        yield Camera1(
            server=server,
            started=started,
            frames=frames,
            camera_id=camera_id,
            clip=root / "intra.mp4",
        )
    finally:
        server.stop()


def live_server_scope(live_server: LiveServer) -> ColumnElement[bool]:
    """Cameras in the district of the browser tests' operator (Bannu)."""
    from safecity.registry.models import District

    district = select(District.id).where(District.slug == "bannu").scalar_subquery()
    return Camera.district_id == district


MEDIA_SRC = "media-src 'self' blob:"


def _with_blob_media(tile_url: str | None) -> str:
    """The application's policy, plus what MSE needs until security.py grants it itself."""
    policy = content_security_policy(tile_url)
    return policy if "media-src" in policy else f"{policy.rstrip('; ')}; {MEDIA_SRC}"


@pytest.fixture(scope="module")
def ws_base_url(live_server: LiveServer) -> Iterator[str]:
    """The same application and database as ``live_server``, served with WebSockets on."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_module, "content_security_policy", _with_blob_media)
        app = create_app(live_server.platform)
    if not any(getattr(r, "path", "") == "/ws/live/{camera_id}" for r in app.routes):
        app.include_router(live.router)  # until the lead includes it in create_app
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        ws="websockets-sansio",
        lifespan="on",
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="browser-live-ws", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the WebSocket-enabled live server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


_READ_STRIP = """(video) => {
  const rows = Math.ceil(video.videoHeight * 3 / 45);
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  g.drawImage(video, 0, 0);
  const data = g.getImageData(0, 0, canvas.width, rows).data;
  const grey = new Array(canvas.width * rows);
  for (let i = 0; i < grey.length; i++) {
    grey[i] = (data[4 * i] + data[4 * i + 1] + data[4 * i + 2]) / 3;
  }
  return { width: canvas.width, height: canvas.height, rows: rows, grey: grey };
}"""


def shown_frame(page: Page) -> tuple[int | None, float]:
    """The counter of the frame the video element shows, and when it was read."""
    before = time.monotonic()
    strip = page.locator("#live-video").evaluate(_READ_STRIP)
    after = time.monotonic()
    image = np.zeros((strip["height"], strip["width"]), dtype=np.uint8)
    top = np.array(strip["grey"], dtype=np.float64).reshape(strip["rows"], strip["width"])
    image[: strip["rows"]] = top.round().astype(np.uint8)
    return read_counter(image), (before + after) / 2


def test_live_view_plays_within_the_latency_budget(
    page: Page, live_server: LiveServer, camera: Camera1, ws_base_url: str
) -> None:
    sign_in_here(page, ws_base_url, live_server)
    page.goto(f"{ws_base_url}/cameras/{camera.camera_id}/live")
    video = page.locator("#live-video")
    expect(video).to_have_attribute("data-playing", "1", timeout=20_000)
    expect(page.locator(".live-status")).to_have_text("Live")
    time.sleep(1.0)  # let the player settle at the live edge
    median = measure_latency(page, camera, "RTSP camera -> remux -> WebSocket -> MSE")
    assert median < LATENCY_LIMIT_SECONDS


# Bottom right, clear of the frame counter at the top of the picture.
WINDOW_MASK = {"points": [[0.6, 0.6], [0.95, 0.6], [0.95, 0.95], [0.6, 0.95]], "label": "window"}


def test_masked_live_view_latency(
    page: Page, live_server: LiveServer, camera: Camera1, ws_base_url: str
) -> None:
    """The operator lacks cameras.unmask: masks are burned in by decoding and re-encoding."""
    platform = live_server.platform

    def set_masks(masks: list[object]) -> None:
        with platform.transaction() as session:
            platform.registry.update_camera(
                session,
                system_principal("tests"),
                camera.camera_id,
                CameraUpdate.model_validate({"privacy_masks": masks}),
                expected_version=None,
            )

    set_masks([WINDOW_MASK])
    try:
        sign_in_here(page, ws_base_url, live_server)
        page.goto(f"{ws_base_url}/cameras/{camera.camera_id}/live")
        video = page.locator("#live-video")
        expect(video).to_have_attribute("data-playing", "1", timeout=20_000)
        expect(page.locator(".live-status")).to_have_text("Live (privacy masks applied)")
        time.sleep(1.0)
        median = measure_latency(
            page, camera, "masked: RTSP -> decode -> mask -> x264 -> WebSocket -> MSE"
        )
    finally:
        set_masks([])
    assert median < LATENCY_LIMIT_SECONDS


def measure_latency(page: Page, camera: Camera1, path: str) -> float:
    """Median glass-to-glass latency over SAMPLES reads of the shown frame's counter."""
    latencies: list[float] = []
    for _ in range(SAMPLES):
        shown, at = shown_frame(page)
        if shown is not None:
            sent = (at - camera.started) * FPS
            behind = (sent - shown) % camera.frames  # the clip loops
            latencies.append(behind / FPS)
        time.sleep(0.13)
    assert len(latencies) >= SAMPLES // 2, "the frame counter could not be read from the video"
    median = float(np.median(latencies))
    print(
        f"\nglass-to-glass latency ({path}): "
        f"median {median:.2f} s, max {max(latencies):.2f} s over {len(latencies)} samples"
    )
    assert median < LATENCY_LIMIT_SECONDS, latencies
    assert max(latencies) < LATENCY_LIMIT_SECONDS + 0.5, latencies
    return median


def sign_in_here(page: Page, base_url: str, live_server: LiveServer) -> None:
    """As support.sign_in, on the WebSocket-enabled server's origin (its cookies are its own)."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(live_server.operator)
    page.get_by_label("Password").fill(live_server.operator_password)
    page.get_by_label("Purpose of this session").select_option(DEFAULT_PURPOSE)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def point_camera_at(live_server: LiveServer, camera_id: int, url: str) -> None:
    with live_server.platform.transaction() as session:
        live_server.platform.registry.update_camera(
            session,
            system_principal("tests"),
            camera_id,
            CameraUpdate(main_stream_url=url, sub_stream_url=url),
            expected_version=None,
        )


def test_a_camera_that_drops_out_plays_again_when_it_comes_back(
    page: Page,
    live_server: LiveServer,
    camera: Camera1,
    ws_base_url: str,
    tmp_path: Path,
) -> None:
    """A wall runs unattended: when a camera's stream goes away the tile says so and keeps
    trying, and when the camera is back it plays again without anyone reloading the page."""
    flaky = RtspServer([RtspMount("cam", camera.clip)], log_path=tmp_path / "rtsp.log")
    flaky.start()
    try:
        point_camera_at(live_server, camera.camera_id, flaky.url("cam"))
        sign_in_here(page, ws_base_url, live_server)
        page.goto(f"{ws_base_url}/cameras/{camera.camera_id}/live")
        video = page.locator("#live-video")
        status = page.locator(".live-status")
        expect(video).to_have_attribute("data-playing", "1", timeout=30_000)

        flaky.stop()
        expect(video).to_have_attribute("data-closed", re.compile(r"^10(00|06|11)$"))
        expect(video).not_to_have_attribute("data-playing", "1")
        expect(status).to_contain_text("Trying again in")
        # Refused while the camera is away: the tile goes on trying, not giving up.
        expect(video).to_have_attribute("data-retries", re.compile(r"^[2-9]|\d\d"), timeout=20_000)

        flaky.start()
        expect(video).to_have_attribute("data-playing", "1", timeout=45_000)
        expect(status).to_have_text("Live")
        assert video.get_attribute("data-closed") is None
    finally:
        flaky.stop()
        point_camera_at(live_server, camera.camera_id, camera.server.url("cam"))


def test_wall_shows_only_cameras_in_scope(
    page: Page, live_server: LiveServer, camera: Camera1, ws_base_url: str
) -> None:
    sign_in_here(page, ws_base_url, live_server)
    with live_server.platform.transaction() as session:
        outside = session.scalar(select(Camera.id).where(~live_server_scope(live_server)).limit(1))
    page.goto(f"{ws_base_url}/wall?layout=3x3&cameras={camera.camera_id},{outside}")
    tiles = page.locator("#wall video[data-live]")
    expect(tiles).to_have_count(1)
    expect(tiles.first).to_have_attribute("data-live", f"/ws/live/{camera.camera_id}")
    expect(page.locator("#wall .live-tile.empty")).to_have_count(8)
    expect(tiles.first).to_have_attribute("data-playing", "1", timeout=30_000)


def test_wall_tiles_are_picked_by_code_and_the_address_brings_the_wall_back(
    page: Page, live_server: LiveServer, camera: Camera1, ws_base_url: str
) -> None:
    sign_in_here(page, ws_base_url, live_server)
    with live_server.platform.transaction() as session:
        code = session.scalar(select(Camera.code).where(Camera.id == camera.camera_id))
        outside = session.scalar(
            select(Camera.code).where(~live_server_scope(live_server)).limit(1)
        )
    assert code is not None
    assert outside is not None
    page.goto(f"{ws_base_url}/wall?layout=2x2")
    picks = page.locator("#wall input[name=tile]")
    expect(picks).to_have_count(4)
    # Offered by code and name: only the cameras of the operator's area.
    offered = page.locator("#wall-cameras option")
    expect(offered.filter(has_text=code)).to_have_count(1)
    expect(offered.filter(has_text=outside)).to_have_count(0)

    for position, value in enumerate([outside, "", code.lower(), ""]):
        picks.nth(position).fill(value)
    picks.nth(2).press("Enter")
    page.wait_for_load_state()

    def check_wall() -> None:
        tiles = page.locator("#wall .live-tile")
        expect(tiles).to_have_count(4)
        expect(tiles.nth(2).locator("video")).to_have_attribute(
            "data-live", f"/ws/live/{camera.camera_id}"
        )
        expect(page.locator("#wall video")).to_have_count(1)
        # Out of scope reads exactly as a camera that does not exist.
        expect(tiles.nth(0).locator(".tile-unavailable")).to_have_text(
            f"{outside}: no such camera in your area"
        )
        expect(tiles.nth(2).locator("video")).to_have_attribute("data-playing", "1", timeout=20_000)

    check_wall()
    bookmark = page.url
    assert "layout=2x2" in bookmark
    assert f"tile={code.lower()}" in bookmark
    page.goto(f"{ws_base_url}/wall")
    page.goto(bookmark)
    check_wall()


def _two_recorded_segments(
    live_server: LiveServer, camera: Camera1, tmp_path: Path
) -> list[SegmentClosed]:
    """A 4 s clip through the real reader and recorder: two 2 s segments of the camera,
    as the recorder announces them (not yet indexed)."""
    from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
    from safecity.ingest.recorder import SegmentRecorder
    from tests.ingest.clips import write_clip

    platform = live_server.platform
    with platform.transaction() as session:
        code = session.scalar(select(Camera.code).where(Camera.id == camera.camera_id))
    assert code is not None
    closed: list[SegmentClosed] = []
    recorder = SegmentRecorder(
        code, platform.settings.media_dir, segment_seconds=2, on_closed=closed.append
    )
    clip = write_clip(tmp_path / "clip.mp4", seconds=4)
    CameraReader(code, str(clip), ReaderOptions(decode=DecodeMode.NONE), sinks=[recorder]).run()
    assert len(closed) == 2
    return closed


def test_recorded_segments_play_back_in_the_browser_one_after_another(
    page: Page, live_server: LiveServer, camera: Camera1, ws_base_url: str, tmp_path: Path
) -> None:
    # Segments as the recorder writes them (fragmented MP4, stream copy), indexed as
    # the control plane indexes SegmentClosed, then watched on the playback page.
    platform = live_server.platform
    closed = _two_recorded_segments(live_server, camera, tmp_path)
    with platform.transaction() as session:
        for message in closed:
            assert platform.recordings.index_segment(session, message) is not None

    sign_in_here(page, ws_base_url, live_server)
    page.goto(f"{ws_base_url}/cameras/{camera.camera_id}/playback")
    rows = page.locator("#segments tbody tr")
    expect(rows).to_have_count(2, timeout=10_000)
    player = page.locator("#player")
    # The first segment plays at its recorded size, then the second follows on its own.
    page.wait_for_function(
        "() => { const v = document.getElementById('player');"
        " return v.videoWidth === 640 && v.currentTime > 0.5; }",
        timeout=20_000,
    )
    expect(rows.nth(1)).to_have_class("playing", timeout=20_000)
    page.wait_for_function(
        "() => document.getElementById('player').currentTime > 0.5", timeout=20_000
    )
    assert player.evaluate("v => v.error") is None


def test_a_link_to_a_moment_starts_the_player_there(
    page: Page, live_server: LiveServer, camera: Camera1, ws_base_url: str, tmp_path: Path
) -> None:
    """An event's or a read's recording link names its moment: the player starts in the
    segment holding it, that far in, not at the start of the four-minute window."""
    from datetime import timedelta

    from safecity.web.api.plates import playback_url

    platform = live_server.platform
    closed = _two_recorded_segments(live_server, camera, tmp_path)
    # The clip was recorded faster than real time: the segments are dated as a camera's
    # would be, one after the other, half an hour back (clear of other tests' segments of
    # this camera, recorded now).
    base = (closed[0].started_at - timedelta(minutes=30)).replace(microsecond=0)
    starts = [base + timedelta(seconds=2 * n) for n in range(2)]
    with platform.transaction() as session:
        for message, start in zip(closed, starts, strict=True):
            dated = message.model_copy(
                update={"started_at": start, "ended_at": start + timedelta(seconds=2)}
            )
            assert platform.recordings.index_segment(session, dated) is not None
    moment = starts[1] + timedelta(seconds=1.2)

    sign_in_here(page, ws_base_url, live_server)
    page.goto(ws_base_url + playback_url(camera.camera_id, moment))
    rows = page.locator("#segments tbody tr")
    expect(rows).to_have_count(2, timeout=10_000)
    # The first time the player is past a second, it is in the second segment.
    page.wait_for_function(
        "() => document.getElementById('player').currentTime > 1.0", timeout=20_000
    )
    src = page.locator("#player").evaluate("v => v.getAttribute('src')")
    assert src == rows.nth(1).get_attribute("data-src")
    expect(rows.nth(1)).to_have_class("playing")
    expect(page.locator("#now-playing")).to_contain_text("from ")
    # A moment outside the range is refused with a message, the segments still listed.
    link = playback_url(camera.camera_id, moment)
    outside = (moment + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page.goto(ws_base_url + link.split("&at=")[0] + f"&at={outside}")
    expect(page.locator(".error")).to_contain_text("within the range")
    expect(rows).to_have_count(2)
