"""assess_frame on synthetic pictures: each problem is found, and nothing else is.

Every row names a picture and the exact set of checks that must fire on it,
so a row fails both when a problem is missed and when a healthy picture
raises a false alarm.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from safecity.vision.image_health import (
    CheckResult,
    Direction,
    HealthAssessment,
    ImageHealthConfig,
    ImageProblem,
    SceneReference,
    assess_frame,
    build_reference,
)
from tests.vision import scenes
from tests.vision.conftest import SEED, at, prepared

FROZEN = ImageProblem.FROZEN
BLACK = ImageProblem.BLACK
OVEREXPOSED = ImageProblem.OVEREXPOSED
COVERED = ImageProblem.COVERED
DEFOCUSED = ImageProblem.DEFOCUSED
MOVED = ImageProblem.MOVED

Picture = Callable[[scenes.Image, scenes.Image], scenes.Image]  # (street, view) -> frame


def _busy(view: scenes.Image) -> scenes.Image:
    return scenes.live_static_sample(scenes.with_traffic(view, at_s=37.0, vehicles=12, seed=5), 3)


CASES: list[tuple[str, Picture, frozenset[ImageProblem]]] = [
    ("empty street", lambda street, view: scenes.live_static_sample(view, 1), frozenset()),
    ("busy street, twelve vehicles", lambda street, view: _busy(view), frozenset()),
    ("night with lamps", lambda street, view: scenes.night(view, 2), frozenset()),
    (
        "night with traffic",
        lambda street, view: scenes.night(scenes.with_traffic(view, at_s=4.0), 3),
        frozenset(),
    ),
    ("slightly soft lens", lambda street, view: scenes.blurred(view, 2.0), frozenset()),
    ("defocused", lambda street, view: scenes.blurred(view, 4.0), frozenset({DEFOCUSED})),
    ("badly defocused", lambda street, view: scenes.blurred(view, 8.0), frozenset({DEFOCUSED})),
    ("capped lens", lambda street, view: scenes.black_frame(4), frozenset({BLACK})),
    ("white", lambda street, view: scenes.white_frame(5), frozenset({OVEREXPOSED})),
    ("washed out", lambda street, view: scenes.washed_out(view), frozenset({OVEREXPOSED})),
    ("hand on the lens", lambda street, view: scenes.hand_over_lens(6), frozenset({COVERED})),
    (
        "hand with light leaking past",
        lambda street, view: scenes.hand_over_lens(7, light_leak=True),
        frozenset({COVERED}),
    ),
    # With no light at all, a hand is a black picture: one cause, one alarm.
    (
        "hand on the lens in the dark",
        lambda street, view: scenes.hand_over_lens(8, level=20.0),
        frozenset({BLACK}),
    ),
    ("panned 60 px", lambda street, view: scenes.camera_view(street, dx=60), frozenset({MOVED})),
    ("tilted 50 px", lambda street, view: scenes.camera_view(street, dy=-50), frozenset({MOVED})),
    (
        "turned 4 degrees",
        lambda street, view: scenes.camera_view(street, angle=4.0),
        frozenset({MOVED}),
    ),
    (
        "turned to another street",
        lambda street, view: scenes.camera_view(scenes.street_world(SEED + 100)),
        frozenset({MOVED}),
    ),
    (
        "panned, at night",
        lambda street, view: scenes.night(scenes.camera_view(street, dx=60), 9),
        frozenset({MOVED}),
    ),
    ("wobble of 4 px", lambda street, view: scenes.camera_view(street, dx=4), frozenset()),
]


@pytest.mark.parametrize(
    ("picture", "expected"),
    [pytest.param(picture, expected, id=name) for name, picture, expected in CASES],
)
def test_single_picture(
    street: scenes.Image,
    view: scenes.Image,
    day_reference: SceneReference,
    picture: Picture,
    expected: frozenset[ImageProblem],
) -> None:
    assessment = assess_frame(
        prepared(picture(street, view)),
        at=at(0),
        previous=None,
        references=[day_reference],
        config=ImageHealthConfig(),
    )
    assert assessment.fired == expected, _scores(assessment)


def test_blind_pictures_skip_focus_and_alignment(day_reference: SceneReference) -> None:
    assessment = assess_frame(
        prepared(scenes.black_frame(1)),
        at=at(0),
        previous=None,
        references=[day_reference],
        config=ImageHealthConfig(),
    )
    for problem in (COVERED, DEFOCUSED, MOVED):
        check = assessment.check(problem)
        assert not check.evaluated
        assert check.note
    assert assessment.alignment is None


def test_without_a_reference_only_reference_free_checks_run(view: scenes.Image) -> None:
    assessment = assess_frame(
        prepared(scenes.blurred(view, 8.0)),
        at=at(0),
        previous=None,
        references=[],
        config=ImageHealthConfig(),
    )
    assert assessment.fired == frozenset()
    assert assessment.check(DEFOCUSED).note == "no reference view yet"
    assert assessment.check(MOVED).note == "no reference view yet"


def test_the_reference_closest_in_light_is_the_yardstick(
    view: scenes.Image, day_reference: SceneReference
) -> None:
    # A night reference blurred on purpose: a sharp night picture must be judged
    # against it (sharper than it), not against the day reference.
    soft_night = build_reference(
        [prepared(scenes.blurred(scenes.night(view, 1), 3.0))], max_features=400
    )
    assessment = assess_frame(
        prepared(scenes.night(view, 2)),
        at=at(0),
        previous=None,
        references=[day_reference, soft_night],
        config=ImageHealthConfig(),
    )
    score = assessment.check(DEFOCUSED).score
    assert score is not None
    assert score > 1.2


def test_a_plain_reference_cannot_say_moved(view: scenes.Image) -> None:
    # Installed facing a blank wall: nothing to align with, so no verdict either way.
    wall = np.full((720, 1280, 3), 128, dtype=np.uint8)
    wall[:, :, 0] = np.linspace(90, 160, 1280, dtype=np.uint8)[None, :]
    plain = build_reference([prepared(wall)], max_features=400)
    assessment = assess_frame(
        prepared(scenes.live_static_sample(view, 1)),
        at=at(0),
        previous=None,
        references=[plain],
        config=ImageHealthConfig(),
    )
    moved = assessment.check(MOVED)
    assert not moved.evaluated
    assert "too few key points" in moved.note


# --- frozen -----------------------------------------------------------------------------


def _frozen_score(previous: scenes.Image, current: scenes.Image) -> CheckResult:
    return assess_frame(
        prepared(current),
        at=at(1),
        previous=prepared(previous),
        references=[],
        config=ImageHealthConfig(),
    ).check(FROZEN)


def _with_clock(frame: scenes.Image, second: int) -> scenes.Image:
    """An on-screen clock burned into the top left, as most cameras do."""
    stamped = frame.copy()
    cv2.rectangle(stamped, (0, 0), (420, 44), (0, 0, 0), -1)
    cv2.putText(
        stamped,
        f"2025-03-01 06:00:{second:02d}",
        (8, 32),
        cv2.FONT_HERSHEY_SIMPLEX,
        1.0,
        (255, 255, 255),
        2,
    )
    return stamped


@pytest.mark.parametrize(
    ("pair", "fired"),
    [
        ("live, empty street, clean sensor", False),
        ("live, empty street, JPEG quality 95", False),
        ("same decoded picture twice", True),
        ("frozen picture under a ticking clock", True),
        ("live picture under a ticking clock", False),
    ],
)
def test_frozen_tells_repetition_from_a_quiet_scene(
    view: scenes.Image, pair: str, fired: bool
) -> None:
    quiet = scenes.sensor_noise(view, 0.3, seed=1)
    frames = {
        "live, empty street, clean sensor": (
            scenes.jpeg_roundtrip(quiet, 70),
            scenes.jpeg_roundtrip(scenes.sensor_noise(view, 0.3, seed=2), 70),
        ),
        "live, empty street, JPEG quality 95": (
            scenes.jpeg_roundtrip(quiet, 95),
            scenes.jpeg_roundtrip(scenes.sensor_noise(view, 0.3, seed=3), 95),
        ),
        "same decoded picture twice": (
            scenes.jpeg_roundtrip(quiet, 70),
            scenes.jpeg_roundtrip(quiet, 70),
        ),
        "frozen picture under a ticking clock": (
            _with_clock(scenes.jpeg_roundtrip(quiet, 70), 7),
            _with_clock(scenes.jpeg_roundtrip(quiet, 70), 8),
        ),
        "live picture under a ticking clock": (
            _with_clock(scenes.live_static_sample(view, 1), 7),
            _with_clock(scenes.live_static_sample(view, 2), 8),
        ),
    }
    check = _frozen_score(*frames[pair])
    assert check.evaluated
    assert check.fired is fired, check


def test_frozen_is_not_judged_on_a_uniform_picture() -> None:
    # A clipped black picture repeats exactly; that alone says nothing about the encoder.
    black = np.zeros((720, 1280, 3), dtype=np.uint8)
    check = _frozen_score(black, black)
    assert not check.evaluated
    assert "uniform" in check.note


def test_frozen_is_not_judged_across_a_resolution_change(view: scenes.Image) -> None:
    smaller = scenes.resized(view, 704, 576)
    check = _frozen_score(smaller, view)
    assert not check.evaluated


# --- the result type ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "score", "fired", "persists"),
    [
        # Higher is worse, trigger 0.8, release 0.6.
        (Direction.HIGHER_IS_WORSE, 0.9, True, True),
        (Direction.HIGHER_IS_WORSE, 0.8, True, True),
        (Direction.HIGHER_IS_WORSE, 0.7, False, True),
        (Direction.HIGHER_IS_WORSE, 0.6, False, True),
        (Direction.HIGHER_IS_WORSE, 0.5, False, False),
        (Direction.HIGHER_IS_WORSE, None, False, False),
        # Lower is worse, trigger 0.6, release 0.8.
        (Direction.LOWER_IS_WORSE, 0.5, True, True),
        (Direction.LOWER_IS_WORSE, 0.6, True, True),
        (Direction.LOWER_IS_WORSE, 0.7, False, True),
        (Direction.LOWER_IS_WORSE, 0.9, False, False),
    ],
)
def test_check_result_thresholds(
    direction: Direction, score: float | None, fired: bool, persists: bool
) -> None:
    trigger, release = (0.8, 0.6) if direction is Direction.HIGHER_IS_WORSE else (0.6, 0.8)
    result = CheckResult(
        problem=COVERED,
        score=score,
        trigger=trigger,
        release=release,
        direction=direction,
        note="" if score is not None else "not judged",
    )
    assert (result.fired, result.persists) == (fired, persists)


@pytest.mark.parametrize(
    ("score", "trigger", "release", "note", "message"),
    [
        (float("nan"), 0.8, 0.6, "", "finite"),
        (None, 0.8, 0.6, "", "gives no reason"),
        (0.5, 0.6, 0.8, "", "bad side of trigger"),
    ],
)
def test_check_result_refuses_nonsense(
    score: float | None, trigger: float, release: float, note: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CheckResult(
            problem=COVERED,
            score=score,
            trigger=trigger,
            release=release,
            direction=Direction.HIGHER_IS_WORSE,
            note=note,
        )


def test_assessment_needs_every_check_in_order(view: scenes.Image) -> None:
    assessment = assess_frame(
        prepared(view), at=at(0), previous=None, references=[], config=ImageHealthConfig()
    )
    with pytest.raises(ValueError, match="must cover"):
        HealthAssessment(
            at=assessment.at,
            checks=assessment.checks[::-1],
            mean_luminance=assessment.mean_luminance,
            alignment=None,
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        HealthAssessment(
            at=assessment.at.replace(tzinfo=None),
            checks=assessment.checks,
            mean_luminance=assessment.mean_luminance,
            alignment=None,
        )


def _scores(assessment: HealthAssessment) -> str:
    return ", ".join(
        f"{check.problem}={'-' if check.score is None else f'{check.score:.3f}'}"
        for check in assessment.checks
    )
