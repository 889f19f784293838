"""The demo's live video: simulated cameras served over RTSP, recorded by ingest groups.

A few demo cameras get the synthetic city's clips as their streams (the registry is
updated through its service, so the change is audited and announced); ingest
groups (several cameras a process) record them and report health over the bus, exactly as
on a real node, and analytics groups analyse them. Rendered clips are cached in the data
folder (``demo_clips``).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import select

from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.core.settings import Settings
from safecity.demo_clips import CLIP_FPS, VIEW_SIZES, ClipRenderer, DemoClip, demo_clip_sets
from safecity.demo_hotlist import list_demo_vehicles
from safecity.identity.system import system_principal
from safecity.registry.models import Camera, District
from safecity.registry.schemas import CameraUpdate
from safecity.sim.counter import overlay_extent
from safecity.sim.rtsp import RtspMount, RtspServer, gstreamer_unavailable_reason
from safecity.sim.truth import load_ground_truth
from safecity.video_workers import start_analytics, start_ingest
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR
from safecity.web.platform import Platform

log = logging.getLogger(__name__)
DRILL_EVERY_SECONDS = 12.0  # one simulated alert this often, give or take half
DRILL_CAMERAS_PER_DISTRICT = 6
FLEET_EVERY_SECONDS = 3.0  # each simulated unit reports its position this often
OVERLAY_MARGIN = 0.02
"""Fraction of the frame's height added below the simulator's on-screen display band."""


class DemoVideo:
    """The demo's simulated cameras, started in the background so that the web server
    answers at once: on a first start their clips are rendered first (``demo_clips``),
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
    _start_analytics(stack, settings, platform, bus_url, codes)
    return [code for _, code in codes]


def overlay_band() -> float:
    """Bottom of the band (a fraction of the frame's height, from the top) where the
    simulator burns its frame counter, frame number and camera name, with a margin.
    The layout scales with the frame's height, so the fraction fits any resolution."""
    width, height = VIEW_SIZES["overview"]
    _, _, _, band = overlay_extent(width, height)
    return min(1.0, band / height + OVERLAY_MARGIN)


def demo_analytics_config(detector: str | None) -> CameraAnalyticsConfig:
    """What the demo draws on each simulated camera: the road, a counting line across it,
    the direction of traffic (towards the camera), a crowd threshold, and an ignore
    region over the on-screen display (camera name and frame counter), which changes
    every frame and would otherwise be tracked as motion and read as a plate."""
    band = round(overlay_band(), 4)
    return CameraAnalyticsConfig.model_validate(
        {
            "enabled": True,
            "analysed_fps": 5,
            "detector": detector,
            "plates": True,
            "zones": [{"name": "road", "points": [[0, 0.4], [1, 0.4], [1, 1], [0, 1]]}],
            "ignore": [
                {"name": "on-screen display", "points": [[0, 0], [1, 0], [1, band], [0, band]]}
            ],
            "lines": [
                {"name": "count", "start": [0, 0.6], "end": [1, 0.6]},
                {"name": "traffic", "start": [0.5, 0.2], "end": [0.5, 0.9]},
            ],
            "rules": [
                {"kind": "line_crossing", "name": "vehicles", "line": "count"},
                {"kind": "wrong_way", "name": "wrong way", "line": "traffic", "zone": "road"},
                {"kind": "crowd", "name": "congestion", "zone": "road", "threshold": 6},
            ],
        }
    )


def _start_analytics(
    stack: ExitStack,
    settings: Settings,
    platform: Platform,
    bus_url: str,
    codes: list[tuple[int, str]],
) -> None:
    """Analytics worker processes, each a group of cameras, under a supervisor that
    restarts them and follows analytics configuration changes on the bus.

    A demo camera without a configuration gets the demo's (saved through the service, so
    it is audited and announced like an engineer's). Every enabled camera is placed at
    start; cameras enabled or disabled later (API, editor) join or leave a group as their
    ``AnalyticsConfigChanged`` arrives. Stream URLs come from the registry (decrypted in
    this process) and reach a worker only through its stdin.
    """
    admin = system_principal("demo analytics")
    with platform.transaction() as session:
        for camera_id, _ in codes:
            current = platform.analytics_config.get_config(session, admin, camera_id)
            default = demo_analytics_config(settings.demo_analytics_detector)
            # A demo camera still on a default saved before ignore regions existed, or
            # before the bundled detector, gets the new default; a configuration an
            # engineer changed is left alone.
            earlier = (
                default.model_copy(update={"ignore": ()}),
                demo_analytics_config(None),
                demo_analytics_config(None).model_copy(update={"ignore": ()}),
            )
            if current.version == 0 or (current.config != default and current.config in earlier):
                platform.analytics_config.update_config(
                    session, admin, camera_id, default, expected_version=current.version
                )
    start_analytics(stack, settings, platform, bus_url, default_models_dir=BUNDLED_MODELS_DIR)


def start_alert_drill(
    stack: ExitStack, settings: Settings, platform: Platform, bus_url: str
) -> int:
    """Simulated alerts for the console (sim/alert_drill.py); returns the cameras named."""
    from safecity.sim.alert_drill import DrillCamera, DrillThread

    with platform.sessions() as session:
        rows = session.execute(
            select(Camera.code, District.slug)
            .join(District, District.id == Camera.district_id)
            .where(Camera.status == "online")
            .order_by(Camera.code)
        ).all()
    # A few cameras per district, so every district's operators have something to do.
    per_district: dict[str, list[str]] = {}
    for code, slug in rows:
        if len(per_district.setdefault(slug, [])) < DRILL_CAMERAS_PER_DISTRICT:
            per_district[slug].append(code)
    cameras = [DrillCamera(code, slug) for slug, codes in per_district.items() for code in codes]
    if not cameras:
        return 0
    drill = DrillThread(bus_url, cameras, settings.media_dir, DRILL_EVERY_SECONDS)
    drill.start()
    stack.callback(drill.stop)
    return len(cameras)


def start_fleet(stack: ExitStack, settings: Settings, platform: Platform) -> int:
    """Simulated field units driving the demo districts (sim/fleet.py), talking to this
    server's API with their own tokens; returns the number of units."""
    import httpx

    from safecity.command.units_seed import seed_demo_fleet
    from safecity.sim.fleet import Fleet, FleetConfig, FleetThread, Route, SimUnit

    with platform.transaction() as session:
        districts = seed_demo_fleet(
            session, platform.identity, platform.units, system_principal("demo fleet")
        )
    scheme = "https" if settings.tls_certfile else "http"
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    client = httpx.Client(
        base_url=f"{scheme}://{host}:{settings.port}",
        timeout=10.0,
        # The demo's own certificate is the only authority this client needs.
        verify=str(settings.tls_certfile) if settings.tls_certfile else True,
    )
    stack.callback(client.close)
    fleets = [
        Fleet(
            client,
            [
                SimUnit(u.unit_id, u.callsign, u.token, Route(u.route), u.route[0])
                for u in district.units
            ],
            FleetConfig(dispatcher_token=district.dispatcher_token, district=district.slug),
        )
        for district in districts
    ]
    thread = FleetThread(fleets, every_seconds=FLEET_EVERY_SECONDS)
    thread.start()
    stack.callback(thread.stop)
    return sum(len(d.units) for d in districts)
