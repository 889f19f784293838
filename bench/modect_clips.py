"""Plated 720p/15 fps camera clips for the ZoneMinder Modect side by side (a helper module).

The simulator renders a few cameras of one city corridor in its ANPR view
(plates large enough to read); every simulated camera of the benchmark then
plays one of them. The RTSP server plays every mount on one shared timeline,
so two cameras playing the same file would send the same frame, key frames
included, at the same instant: each camera gets its own copy of its clip,
remuxed (no re-encoding) so that it starts at a different GOP and its first
GOP is cut short by a few frames. Contents then differ between cameras that
share a render, and key frames fall at different instants on every camera.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.stream import VideoStream

from safecity.sim.truth import GroundTruth, load_ground_truth

WIDTH, HEIGHT, FPS = 1280, 720, 15
SEED = 11
RENDERED_CAMERAS = 4  # distinct renders; cameras beyond these play shifted copies


@dataclass(frozen=True)
class CameraClip:
    path: Path
    source_camera: str
    """The rendered camera whose video this is (its ground truth says which plates pass)."""
    plates: frozenset[str]


def render(folder: Path, seconds: int) -> GroundTruth:
    """Render the corridor once into ``folder`` (kept: later runs reuse it)."""
    from safecity.sim.render import render_city

    if not (folder / "ground_truth.json").exists():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        render_city(
            SEED,
            seconds,
            partial,
            cameras=RENDERED_CAMERAS,
            width=WIDTH,
            height=HEIGHT,
            fps=FPS,
            lighting="day",
            view="anpr",
        )
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)  # only a finished render is ever reused
    return load_ground_truth(folder / "ground_truth.json")


def _gops(path: Path) -> list[list[av.Packet[VideoStream]]]:
    """The clip's packets grouped by key frame (the first group starts on a key frame)."""
    gops: list[list[av.Packet[VideoStream]]] = []
    with av.open(str(path)) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.size == 0:
                continue
            if packet.is_keyframe:
                gops.append([])
            if gops:
                gops[-1].append(packet)
    if not gops:
        raise RuntimeError(f"{path} holds no key frame")
    return gops


def shifted_copy(source: Path, target: Path, start_gop: int, cut_frames: int) -> Path:
    """``source`` played from GOP ``start_gop`` round to where it began, its first GOP
    ``cut_frames`` shorter (a GOP cut at its end still decodes), timestamps renumbered."""
    if target.exists():
        return target
    gops = _gops(source)
    start = start_gop % len(gops)
    order = gops[start:] + gops[:start]
    first = order[0]
    order[0] = first[: max(1, len(first) - cut_frames)]
    partial = target.with_name(target.name + ".partial.mp4")
    with av.open(str(source)) as template, av.open(str(partial), "w") as output:
        stream = output.add_stream_from_template(template.streams.video[0])
        time_base = Fraction(1, FPS)
        stream.time_base = time_base
        index = 0
        for gop in order:
            for packet in gop:
                packet.stream = stream
                packet.pts = packet.dts = index
                packet.duration = 1
                packet.time_base = time_base
                output.mux(packet)
                index += 1
    partial.rename(target)
    return target


def camera_clips(cache: Path, count: int, seconds: int = 60) -> list[CameraClip]:
    """One clip per simulated camera, with the registrations that pass in front of it."""
    render_folder = cache / f"render-seed{SEED}-{seconds}s"
    truth = render(render_folder, seconds)
    plates: dict[str, set[str]] = {camera.id: set() for camera in truth.cameras}
    for vehicle in truth.vehicles:
        for appearance in vehicle.appearances:
            plates[appearance.camera_id].add(vehicle.plate)
    shifted = cache / f"cameras-seed{SEED}-{seconds}s"
    shifted.mkdir(parents=True, exist_ok=True)
    clips = []
    for index in range(count):
        camera = truth.cameras[index % len(truth.cameras)]
        turn = index // len(truth.cameras)
        # Seven frames apart modulo the GOP: neighbours' key frames never coincide.
        cut = (7 * index) % truth.keyframe_interval
        path = shifted_copy(
            render_folder / camera.file, shifted / f"cam{index + 1:02d}.mp4", 3 * turn, cut
        )
        clips.append(CameraClip(path, camera.id, frozenset(plates[camera.id])))
    return clips
