"""One short render shared by the video tests, and a longer scene simulated without video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from safecity.sim.render import city_options, render_city, simulate_truth
from safecity.sim.scene import CityOptions
from safecity.sim.truth import GroundTruth

RENDER_SEED = 11
RENDER_ARGS: dict[str, int | float] = {
    "duration": 8.0,
    "cameras": 3,
    "width": 640,
    "height": 360,
    "fps": 10,
}


@dataclass(frozen=True)
class Rendered:
    folder: Path
    truth: GroundTruth
    options: CityOptions


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """8 s of three 640x360 cameras at 10 fps, passing from day to dusk to night."""
    folder = tmp_path_factory.mktemp("city")
    duration = float(RENDER_ARGS["duration"])
    cameras, width, height, fps = (
        int(RENDER_ARGS[name]) for name in ("cameras", "width", "height", "fps")
    )
    truth = render_city(
        RENDER_SEED, duration, folder, cameras=cameras, width=width, height=height, fps=fps
    )
    options = city_options(
        RENDER_SEED, duration, cameras=cameras, width=width, height=height, fps=fps
    )
    return Rendered(folder=folder, truth=truth, options=options)


@pytest.fixture(scope="session")
def long_truth() -> GroundTruth:
    """Two minutes of four cameras, ground truth only (nothing drawn or encoded)."""
    return simulate_truth(city_options(5, 120.0, cameras=4, fps=5))
