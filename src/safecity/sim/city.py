"""Builds the city for a render: cameras and signals along the corridor, then traffic."""

from __future__ import annotations

import numpy as np

from safecity.sim.geometry import CameraRig
from safecity.sim.scene import (
    FIRST_CAMERA_M,
    STOP_LINE_AHEAD_M,
    CameraSite,
    City,
    CityOptions,
    lane_centre,
)
from safecity.sim.signals import LightingTimeline, SignalPlan
from safecity.sim.traffic import schedule_pedestrians, schedule_vehicles


def _rig(position_m: float, options: CityOptions) -> CameraRig:
    """Every camera has the same mounting, so timings between cameras depend on distance only.

    The overview covers all three lanes and the junction from 15 m to 80 m ahead;
    the ANPR view zooms on the middle lanes 18-43 m ahead, where plates are
    large enough to read at 720 lines.
    """
    if options.view == "anpr":
        height_m, hfov, top_ray = 6.0, 18.0, 8.0
    else:
        height_m, hfov, top_ray = 7.0, 34.0, 5.0
    return CameraRig(
        position_m=position_m,
        lateral_m=lane_centre(2) + 0.75,
        height_m=height_m,
        hfov_deg=hfov,
        top_ray_deg=top_ray,
        width=options.width,
        height=options.height,
    )


def _signal_plan(rng: np.random.Generator, first: bool, duration_s: float) -> SignalPlan:
    green = float(np.round(rng.uniform(12.0, 18.0), 1))
    red = float(np.round(rng.uniform(10.0, 15.0), 1))
    amber = 3.0
    cycle = green + amber + red
    if first:
        # The first junction turns red early in every render, so even a short
        # render holds red-light runners.
        red_starts_at = min(max(0.5 * duration_s, 4.0), 20.0)
        offset = (red_starts_at - green - amber) % cycle
    else:
        offset = float(np.round(rng.uniform(0.0, cycle), 2))
    return SignalPlan(green_s=green, amber_s=amber, red_s=red, offset_s=offset)


def build_cameras(options: CityOptions) -> tuple[CameraSite, ...]:
    """Cameras every 140-240 m; the odd-numbered ones (1, 3, ...) watch signalised junctions."""
    rng = np.random.default_rng([options.seed, 0])
    sites: list[CameraSite] = []
    position = FIRST_CAMERA_M
    for index in range(options.cameras):
        if index:
            position += float(np.round(rng.uniform(140.0, 240.0)))
        junction = index % 2 == 0
        number = index + 1
        plan = (
            _signal_plan(rng, first=index == 0, duration_s=options.duration_s) if junction else None
        )
        sites.append(
            CameraSite(
                id=f"cam-{number:02d}",
                name=f"Corridor {'junction' if junction else 'mid-block'} {number}",
                rig=_rig(position, options),
                signal_id=f"sig-{number:02d}" if junction else None,
                signal=plan,
                stop_line_m=position - STOP_LINE_AHEAD_M if junction else None,
                scenery_seed=int(rng.integers(0, 2**31)),
            )
        )
    return tuple(sites)


def build_city(options: CityOptions) -> City:
    """The whole scene for a render, from the seed alone."""
    cameras = build_cameras(options)
    vehicles = schedule_vehicles(options, cameras)
    pedestrians = schedule_pedestrians(options, cameras, vehicles)
    return City(
        seed=options.seed,
        duration_s=options.duration_s,
        fps=options.fps,
        width=options.width,
        height=options.height,
        cameras=cameras,
        vehicles=vehicles,
        pedestrians=pedestrians,
        lighting=LightingTimeline.build(options.lighting, options.duration_s),
        view=options.view,
        start_utc=options.start_utc,
    )
