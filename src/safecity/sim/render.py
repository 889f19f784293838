"""Renders a city: one H.264 file per camera and ``ground_truth.json`` beside them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from safecity.core.errors import InvalidInput
from safecity.sim.city import build_city
from safecity.sim.collect import TruthCollector
from safecity.sim.scene import City, CityOptions
from safecity.sim.truth import CameraView, GroundTruth, Lighting, dump_ground_truth
from safecity.sim.views import CameraScene

GROUND_TRUTH_FILE = "ground_truth.json"

Progress = Callable[[str, int, int], None]
"""Called as (camera id, frames done for it, frames per camera)."""


def city_options(
    seed: int,
    duration: float,
    *,
    cameras: int = 4,
    width: int = 1280,
    height: int = 720,
    fps: int = 15,
    lighting: Lighting | None = None,
    vehicles_per_minute: float = 60.0,
    view: CameraView = "overview",
) -> CityOptions:
    """Checked options; raises ``InvalidInput`` naming the bad value."""
    checks = (
        (duration > 0, "duration", "must be positive"),
        (duration * fps <= 2**20 - 1, "duration", "is too long for the frame counter"),
        (1 <= cameras <= 32, "cameras", "must be between 1 and 32"),
        (1 <= fps <= 60, "fps", "must be between 1 and 60"),
        (160 <= width <= 3840 and width % 2 == 0, "width", "must be even, 160 to 3840"),
        (90 <= height <= 2160 and height % 2 == 0, "height", "must be even, 90 to 2160"),
        (1.0 <= width / height <= 2.5, "height", "aspect ratio must be between 1:1 and 5:2"),
        (0 <= seed < 2**63, "seed", "must be a non-negative 64-bit integer"),
        (0 < vehicles_per_minute <= 240, "vehicles_per_minute", "must be between 0 and 240"),
    )
    for ok, name, problem in checks:
        if not ok:
            raise InvalidInput(f"{name} {problem}", field=name)
    return CityOptions(
        seed=seed,
        duration_s=float(duration),
        cameras=cameras,
        width=width,
        height=height,
        fps=fps,
        vehicles_per_minute=vehicles_per_minute,
        lighting=lighting,
        view=view,
    )


def simulate_truth(options: CityOptions) -> GroundTruth:
    """The ground truth of a render without drawing or encoding anything (fast)."""
    city = build_city(options)
    collector = TruthCollector(city)
    for site in city.cameras:
        scene = CameraScene(city, site)
        for index in range(city.frame_count):
            collector.record(site, index, scene.views(index / city.fps))
    return collector.build()


def render_files(city: City, out_dir: Path, progress: Progress | None = None) -> GroundTruth:
    """Draw and encode every camera of ``city`` into ``out_dir``."""
    from safecity.sim.encode import H264Writer
    from safecity.sim.frame import CameraRenderer

    out_dir.mkdir(parents=True, exist_ok=True)
    collector = TruthCollector(city)
    for site in city.cameras:
        renderer = CameraRenderer(city, site)
        with H264Writer(out_dir / f"{site.id}.mp4", city.width, city.height, city.fps) as writer:
            for index in range(city.frame_count):
                image, views = renderer.render(index)
                collector.record(site, index, views)
                writer.write(image)
                if progress is not None:
                    progress(site.id, index + 1, city.frame_count)
    truth = collector.build()
    dump_ground_truth(truth, out_dir / GROUND_TRUTH_FILE)
    return truth


def render_city(
    seed: int,
    duration: float,
    out_dir: Path,
    *,
    cameras: int = 4,
    width: int = 1280,
    height: int = 720,
    fps: int = 15,
    lighting: Lighting | None = None,
    vehicles_per_minute: float = 60.0,
    view: CameraView = "overview",
    progress: Progress | None = None,
) -> GroundTruth:
    """Render ``duration`` seconds of the city for ``seed`` to ``out_dir``.

    Writes ``<camera id>.mp4`` per camera and ``ground_truth.json``; returns the
    ground truth. ``lighting`` fixes one condition; None passes from day through
    dusk to night. The same arguments always give the same files.
    """
    options = city_options(
        seed,
        duration,
        cameras=cameras,
        width=width,
        height=height,
        fps=fps,
        lighting=lighting,
        vehicles_per_minute=vehicles_per_minute,
        view=view,
    )
    return render_files(build_city(options), out_dir, progress)
