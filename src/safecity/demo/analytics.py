"""What the demo analyses on its simulated cameras, and the analytics workers that do it."""

from __future__ import annotations

from contextlib import ExitStack

from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.core.settings import Settings
from safecity.demo.clips import VIEW_SIZES
from safecity.identity.system import system_principal
from safecity.sim.counter import overlay_extent
from safecity.video_workers import start_analytics
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR
from safecity.web.platform import Platform

OVERLAY_MARGIN = 0.02
"""Fraction of the frame's height added below the simulator's on-screen display band."""


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


def start_demo_analytics(
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
