"""Synthetic street pictures shared by the image health tests, drawn once per session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from safecity.vision.image_health import (
    AnalysisFrame,
    ImageHealthConfig,
    SceneReference,
    build_reference,
    prepare_frame,
)
from tests.vision import scenes

TIME0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
ANALYSIS_WIDTH = ImageHealthConfig().analysis_width
SEED = 11


def at(seconds: float) -> datetime:
    """A sample time, ``seconds`` after the start of every test's day."""
    return TIME0 + timedelta(seconds=seconds)


def prepared(image: scenes.Image) -> AnalysisFrame:
    return prepare_frame(image, ANALYSIS_WIDTH)


@pytest.fixture(scope="session")
def street() -> scenes.Image:
    return scenes.street_world(SEED)


@pytest.fixture(scope="session")
def view(street: scenes.Image) -> scenes.Image:
    """The camera's correct view, empty of traffic."""
    return scenes.camera_view(street)


@pytest.fixture(scope="session")
def live_frames(view: scenes.Image) -> tuple[AnalysisFrame, ...]:
    """Ten consecutive seconds of the view with traffic, noise and JPEG, ready to analyse;
    cycling through them never repeats a picture back to back."""
    return tuple(
        prepared(scenes.live_static_sample(scenes.with_traffic(view, at_s=second), second))
        for second in range(10)
    )


@pytest.fixture(scope="session")
def day_reference(live_frames: tuple[AnalysisFrame, ...]) -> SceneReference:
    return build_reference(live_frames[::2], max_features=ImageHealthConfig().moved.max_features)
