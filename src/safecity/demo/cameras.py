"""The demo's simulated cameras: served over RTSP, recorded by ingest groups, analysed.

A few demo cameras get the synthetic city's clips as their streams (the registry is
updated through its service, so the change is audited and announced); ingest
groups (several cameras a process) record them and report health over the bus, exactly as
on a real node, and analytics groups analyse them. Rendered clips are cached in the data
folder (``demo.clips``).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import select

from safecity.core.settings import Settings
from safecity.demo.analytics import start_demo_analytics
from safecity.demo.clips import CLIP_FPS, ClipRenderer, DemoClip, demo_clip_sets
from safecity.demo.hotlist import list_demo_vehicles
from safecity.identity.system import system_principal
from safecity.registry.models import Camera
from safecity.registry.schemas import CameraUpdate
from safecity.sim.rtsp import RtspMount, RtspServer, gstreamer_unavailable_reason
from safecity.sim.truth import load_ground_truth
from safecity.video_workers import start_ingest
from safecity.web.platform import Platform

log = logging.getLogger(__name__)


class DemoVideo:
    """The demo's simulated cameras, started in the background so that the web server
    answers at once: on a first start their clips are rendered first (``demo.clips``),
    then the RTSP server, the registry's stream addresses, the demo hotlist, ingest and
    analytics start as ``start_demo_video`` says. ``stop`` ends whichever stage is
    running and everything started."""

    def __init__(
        self,
        settings: Settings,
        platform: Platform,
        bus_url: str,
        count: int,
        on_started: Callable[[list[str]], None],
    ) -> None:
        self._settings = settings
        self._platform = platform
        self._bus_url = bus_url
        self._sets = demo_clip_sets(settings.data_dir, count) if count > 0 else []
        self._renderer = ClipRenderer(self._sets)
        self._on_started = on_started
        self._stack = ExitStack()
        self._lock = threading.Lock()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def rendering(self) -> bool:
        """True while a first start still has clips to render."""
        return bool(self._renderer.missing())

    def start(self) -> bool:
        """Start in the background; False when there is nothing to start."""
        if not self._sets:
            return False
        reason = gstreamer_unavailable_reason()
        if reason is not None:
            log.warning("demo video disabled: %s", reason)
            return False
        self._thread = threading.Thread(target=self._run, name="demo-video", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        try:
            if not self._renderer.render():
                return
            with self._lock:
                if self._stopping:
                    return
                clips = [clip for clip_set in self._sets for clip in clip_set.clips()]
                codes = start_demo_video(
                    self._stack,
                    self._settings,
                    self._platform,
                    self._bus_url,
                    clips,
                    self._sets[0].ground_truth,
                )
            self._on_started(codes)
        except Exception:
            # The rest of the demo (console, drill, fleet) goes on without video.
            log.exception("the demo's simulated cameras did not start")

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
        self._renderer.cancel()
        if self._thread is not None:
            self._thread.join()
        self._stack.close()


def start_demo_video(
    stack: ExitStack,
    settings: Settings,
    platform: Platform,
    bus_url: str,
    clips: list[DemoClip],
    truth: Path,
) -> list[str]:
    """Serve the rendered clips as simulated cameras and record and analyse them;
    ``truth`` is the ANPR clips' ground truth, for the demo hotlist. Returns the camera
    codes."""
    with platform.sessions() as session:
        cameras = session.scalars(
            select(Camera)
            .where(Camera.status == "online", Camera.code.like("PSH-%"))
            .order_by(Camera.code)
            .limit(len(clips))
        ).all()
        codes = [(camera.id, camera.code) for camera in cameras]
    password = secrets.token_urlsafe(12)
    placed = list(zip(codes, clips, strict=False))
    mounts = [
        RtspMount(code, clip.path, user="viewer", password=password) for (_, code), clip in placed
    ]
    server = RtspServer(mounts, log_path=settings.data_dir / "sim" / "rtsp.log")
    server.start()
    stack.callback(server.stop)
    admin = system_principal("demo video")
    with platform.transaction() as session:
        for (camera_id, code), clip in placed:
            platform.registry.update_camera(
                session,
                admin,
                camera_id,
                CameraUpdate(
                    main_stream_url=server.url(code),
                    resolution=(clip.width, clip.height),
                    fps=CLIP_FPS,
                ),
                expected_version=None,
            )
        listed = list_demo_vehicles(session, platform.hotlists, admin, load_ground_truth(truth))
    if listed:
        log.info("demo hotlist: %s", ", ".join(listed))
    # Ingest (health, recording as each registry entry says) as ``safecity up`` starts it.
    start_ingest(stack, settings, platform, bus_url, [c for _, c in codes])
    start_demo_analytics(stack, settings, platform, bus_url, codes)
    return [code for _, code in codes]
