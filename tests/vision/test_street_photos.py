"""The checks on real street photos from ../shared/data/street (evaluation only, never copied).

Each photo stands in for a camera's reference view; altered copies play the
problems (blur, a pushed camera) and the pictures that must not raise one
(night, noise). Skipped where ../shared is absent, failed in CI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.vision.image_health import (
    HealthAssessment,
    ImageHealthConfig,
    ImageProblem,
    SceneReference,
    assess_frame,
    build_reference,
)
from tests.vision import scenes
from tests.vision.conftest import at, prepared

PHOTOS = (
    "darknet_dog.jpg",
    "darknet_horses.jpg",
    "darknet_p1.jpg",
    "darknet_p2.jpg",
    "darknet_person.jpg",
    "hpc203_bus.jpg",
    "hpc203_street.png",
)

# The camera sees the middle 80 % of each photo; a pushed camera sees another 80 %.
VIEW_FRACTION = 0.8

Alteration = Callable[[scenes.Image, scenes.Image], scenes.Image]  # (photo, view) -> frame


def _window(photo: scenes.Image, shift_x: float = 0.0, shift_y: float = 0.0) -> scenes.Image:
    height, width = photo.shape[:2]
    crop_width, crop_height = int(width * VIEW_FRACTION), int(height * VIEW_FRACTION)
    left = int((width - crop_width) / 2 + shift_x * width)
    top = int((height - crop_height) / 2 + shift_y * height)
    return np.ascontiguousarray(photo[top : top + crop_height, left : left + crop_width])


def _analysis_scale(view: scenes.Image) -> float:
    """Source pixels per analysis pixel, so blur is given in what the checks see."""
    return float(view.shape[1]) / ImageHealthConfig().analysis_width


ALTERATIONS: list[tuple[str, Alteration, frozenset[ImageProblem]]] = [
    ("same view, sensor noise", lambda photo, view: scenes.sensor_noise(view, 2.0, 1), frozenset()),
    ("same view, JPEG 30", lambda photo, view: scenes.jpeg_roundtrip(view, 30), frozenset()),
    (
        "night: a third of the light, midtones crushed, noise",
        lambda photo, view: scenes.sensor_noise(
            scenes.darkened(view, gain=0.35, gamma=2.0), 2.0, 2
        ),
        frozenset(),
    ),
    (
        "deep night: a fifth of the light, strong noise",
        lambda photo, view: scenes.sensor_noise(scenes.darkened(view, gain=0.2), 4.0, 3),
        frozenset(),
    ),
    (
        "defocused by 1.2 analysis pixels",
        lambda photo, view: scenes.blurred(view, 1.2 * _analysis_scale(view)),
        frozenset({ImageProblem.DEFOCUSED}),
    ),
    (
        "pushed 5 % to the side",
        lambda photo, view: _window(photo, shift_x=0.05),
        frozenset({ImageProblem.MOVED}),
    ),
    (
        "tipped 4 % down",
        lambda photo, view: _window(photo, shift_y=0.04),
        frozenset({ImageProblem.MOVED}),
    ),
    (
        "pushed 5 % and night",
        lambda photo, view: scenes.darkened(_window(photo, shift_x=0.05), gain=0.35, gamma=2.0),
        frozenset({ImageProblem.MOVED}),
    ),
]


@pytest.fixture(scope="module")
def photos(shared_dir: Path) -> dict[str, scenes.Image]:
    folder = shared_dir / "data" / "street"
    loaded = {}
    for name in PHOTOS:
        image = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
        if image is None:
            pytest.fail(f"cannot read {folder / name}")
        loaded[name] = np.ascontiguousarray(image, dtype=np.uint8)
    return loaded


@pytest.fixture(scope="module")
def references(photos: dict[str, scenes.Image]) -> dict[str, SceneReference]:
    return {
        name: build_reference([prepared(_window(photo))], max_features=400)
        for name, photo in photos.items()
    }


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize(
    ("alteration", "expected"),
    [pytest.param(change, expected, id=label) for label, change, expected in ALTERATIONS],
)
def test_street_photo(
    photos: dict[str, scenes.Image],
    references: dict[str, SceneReference],
    name: str,
    alteration: Alteration,
    expected: frozenset[ImageProblem],
) -> None:
    photo = photos[name]
    frame = alteration(photo, _window(photo))
    assessment = assess_frame(
        prepared(frame),
        at=at(0),
        previous=None,
        references=[references[name]],
        config=ImageHealthConfig(),
    )
    assert assessment.fired == expected, _scores(assessment)


@pytest.mark.parametrize("name", PHOTOS)
def test_a_photo_never_matches_another_camera(
    photos: dict[str, scenes.Image], references: dict[str, SceneReference], name: str
) -> None:
    """Pointed at a different street altogether, every camera reads as moved."""
    height, width = _window(photos[name]).shape[:2]
    for other in (other for other in PHOTOS if other != name):
        # Same resolution as the camera's own stream, or the check could not compare.
        elsewhere = scenes.resized(_window(photos[other]), width, height)
        assessment = assess_frame(
            prepared(elsewhere),
            at=at(0),
            previous=None,
            references=[references[name]],
            config=ImageHealthConfig(),
        )
        assert ImageProblem.MOVED in assessment.fired, (other, _scores(assessment))


def _scores(assessment: HealthAssessment) -> str:
    return ", ".join(
        f"{check.problem}={'-' if check.score is None else f'{check.score:.3f}'}"
        for check in assessment.checks
    )
