"""CameraImageHealth over time: learning, hysteresis, and transitions with their times.

Samples arrive once a second. Each scenario states the exact transitions it
expects as (problem, kind, since, reported at), in seconds from the start.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pytest

from safecity.vision.image_health import (
    AnalysisFrame,
    CameraImageHealth,
    HealthTransition,
    ImageHealthConfig,
    ImageProblem,
    InvalidFrame,
    SceneReference,
    TransitionKind,
    build_reference,
    prepare_frame,
)
from tests.vision import scenes
from tests.vision.conftest import TIME0, at, prepared

STARTED = TransitionKind.STARTED
CLEARED = TransitionKind.CLEARED

Summary = tuple[ImageProblem, TransitionKind, float, float]


def _summary(transitions: Iterable[HealthTransition]) -> list[Summary]:
    return [
        (
            transition.problem,
            transition.kind,
            (transition.since - TIME0).total_seconds(),
            (transition.reported_at - TIME0).total_seconds(),
        )
        for transition in transitions
    ]


def _feed(
    tracker: CameraImageHealth, samples: Iterable[tuple[int, AnalysisFrame]]
) -> list[Summary]:
    transitions: list[HealthTransition] = []
    for second, frame in samples:
        transitions.extend(tracker.observe_prepared(at(second), frame).transitions)
    return _summary(transitions)


def _live(frames: tuple[AnalysisFrame, ...], seconds: range) -> list[tuple[int, AnalysisFrame]]:
    return [(second, frames[second % len(frames)]) for second in seconds]


@pytest.fixture(scope="module")
def blurred_frames(view: scenes.Image) -> tuple[AnalysisFrame, ...]:
    return tuple(
        prepared(scenes.blurred(scenes.with_traffic(view, at_s=second), 4.0)) for second in range(5)
    )


@pytest.fixture(scope="module")
def panned_frames(street: scenes.Image) -> tuple[AnalysisFrame, ...]:
    panned = scenes.camera_view(street, dx=80)
    return tuple(
        prepared(scenes.live_static_sample(scenes.with_traffic(panned, at_s=second), second))
        for second in range(5)
    )


@pytest.fixture(scope="module")
def static_frames(view: scenes.Image) -> tuple[AnalysisFrame, ...]:
    """An empty street at night-time quiet: only sensor noise and JPEG change."""
    return tuple(prepared(scenes.live_static_sample(view, 100 + index)) for index in range(10))


def test_learns_its_reference_from_the_first_minute(
    live_frames: tuple[AnalysisFrame, ...],
) -> None:
    tracker = CameraImageHealth("psh-001")
    transitions: list[HealthTransition] = []
    for second in range(75):
        update = tracker.observe_prepared(at(second), live_frames[second % len(live_frames)])
        transitions.extend(update.transitions)
        assert update.reference_ready is (second >= 60), second
        moved = update.assessment.check(ImageProblem.MOVED)
        assert moved.evaluated is (second > 60), second
    assert transitions == []
    assert len(tracker.references) == 1


def test_a_defocus_starts_and_clears_with_its_times(
    live_frames: tuple[AnalysisFrame, ...],
    blurred_frames: tuple[AnalysisFrame, ...],
    day_reference: SceneReference,
) -> None:
    config = ImageHealthConfig.model_validate(
        {"defocused": {"raise_after_s": 5, "clear_after_s": 5}}
    )
    tracker = CameraImageHealth("psh-002", config=config, reference=day_reference)
    seen = _feed(
        tracker,
        _live(live_frames, range(10))
        + _live(blurred_frames, range(10, 30))
        + _live(live_frames, range(30, 45)),
    )
    assert seen == [
        (ImageProblem.DEFOCUSED, STARTED, 10.0, 15.0),
        (ImageProblem.DEFOCUSED, CLEARED, 30.0, 35.0),
    ]
    assert tracker.active == {}


def test_single_odd_samples_never_flap(
    street: scenes.Image,
    view: scenes.Image,
    live_frames: tuple[AnalysisFrame, ...],
    day_reference: SceneReference,
) -> None:
    odd = {
        20: prepared(scenes.black_frame(1)),
        25: prepared(scenes.blurred(view, 8.0)),
        30: prepared(scenes.hand_over_lens(2)),
        35: prepared(scenes.camera_view(street, dx=80)),
        40: prepared(scenes.white_frame(3)),
    }
    samples = [
        (second, odd.get(second, live_frames[second % len(live_frames)])) for second in range(60)
    ]
    samples[45] = (45, samples[44][1])  # one repeated picture
    tracker = CameraImageHealth("psh-003", reference=day_reference)
    assert _feed(tracker, samples) == []
    assert tracker.active == {}


def test_alternating_bad_samples_never_start_a_problem(
    live_frames: tuple[AnalysisFrame, ...],
    blurred_frames: tuple[AnalysisFrame, ...],
    day_reference: SceneReference,
) -> None:
    tracker = CameraImageHealth("psh-004", reference=day_reference)
    samples = [
        (second, (blurred_frames if second % 2 else live_frames)[second % 5])
        for second in range(90)
    ]
    assert _feed(tracker, samples) == []


def test_a_frozen_picture_is_reported_and_cleared(
    live_frames: tuple[AnalysisFrame, ...], day_reference: SceneReference
) -> None:
    tracker = CameraImageHealth("psh-005", reference=day_reference)
    stuck = live_frames[0]
    seen = _feed(
        tracker,
        _live(live_frames, range(10))
        + [(second, stuck) for second in range(10, 41)]
        + _live(live_frames, range(41, 50)),
    )
    # The first repeat is seen at 11 (10 still differs from 9); ten seconds later it
    # is reported. The first changed sample at 41 clears it two seconds on.
    assert seen == [
        (ImageProblem.FROZEN, STARTED, 11.0, 21.0),
        (ImageProblem.FROZEN, CLEARED, 41.0, 43.0),
    ]


def test_a_quiet_live_scene_is_never_frozen(
    static_frames: tuple[AnalysisFrame, ...], day_reference: SceneReference
) -> None:
    tracker = CameraImageHealth("psh-006", reference=day_reference)
    assert _feed(tracker, _live(static_frames, range(120))) == []


def test_a_moved_camera_is_reported_and_clears_when_put_back(
    live_frames: tuple[AnalysisFrame, ...],
    panned_frames: tuple[AnalysisFrame, ...],
    day_reference: SceneReference,
) -> None:
    tracker = CameraImageHealth("psh-007", reference=day_reference)
    seen = _feed(
        tracker,
        _live(live_frames, range(10))
        + _live(panned_frames, range(10, 50))
        + _live(live_frames, range(50, 80)),
    )
    assert seen == [
        (ImageProblem.MOVED, STARTED, 10.0, 30.0),
        (ImageProblem.MOVED, CLEARED, 50.0, 70.0),
    ]
    assert len(tracker.references) == 1  # the panned view was never adopted


def test_accepting_the_new_view_clears_moved(
    live_frames: tuple[AnalysisFrame, ...],
    panned_frames: tuple[AnalysisFrame, ...],
    day_reference: SceneReference,
) -> None:
    tracker = CameraImageHealth("psh-008", reference=day_reference)
    seen = _feed(tracker, _live(live_frames, range(5)) + _live(panned_frames, range(5, 40)))
    assert seen == [(ImageProblem.MOVED, STARTED, 5.0, 25.0)]
    tracker.set_reference(build_reference(panned_frames, max_features=400))
    seen = _feed(tracker, _live(panned_frames, range(40, 70)))
    assert seen == [(ImageProblem.MOVED, CLEARED, 40.0, 60.0)]


def test_dusk_is_adopted_as_extra_references_and_raises_nothing(
    view: scenes.Image, street: scenes.Image, day_reference: SceneReference
) -> None:
    tracker = CameraImageHealth("psh-009", reference=day_reference)
    samples = []
    for second in range(40):
        gain = 0.98**second * 0.9 + 0.1  # from full daylight to half the light by 39 s
        dusk = scenes.darkened(scenes.with_traffic(view, at_s=second), gain=gain, gamma=1.3)
        samples.append((second, prepared(scenes.sensor_noise(dusk, 2.0, seed=second))))
    assert _feed(tracker, samples) == []
    adopted = tracker.references[1:]
    assert adopted, "no darker reference was adopted"
    assert all(ref.mean_luminance < day_reference.mean_luminance / 1.6 for ref in adopted)
    # The camera is turned after dark: still found, and the new view not learned.
    turned = scenes.darkened(scenes.camera_view(street, dx=80), gain=0.35, gamma=1.3)
    before = len(tracker.references)
    update = tracker.observe_prepared(at(40), prepared(turned))
    assert update.assessment.check(ImageProblem.MOVED).fired
    assert len(tracker.references) == before


def test_covered_samples_are_never_learned(
    live_frames: tuple[AnalysisFrame, ...], view: scenes.Image
) -> None:
    hand = [prepared(scenes.hand_over_lens(seed)) for seed in range(3)]
    tracker = CameraImageHealth("psh-010")
    seen = _feed(
        tracker,
        [(second, hand[second % 3]) for second in range(40)] + _live(live_frames, range(40, 70)),
    )
    assert seen == [
        (ImageProblem.COVERED, STARTED, 0.0, 20.0),
        (ImageProblem.COVERED, CLEARED, 40.0, 50.0),
    ]
    assert tracker.reference_ready
    reference = tracker.references[0]
    expected_light = float(prepared(view).grey.mean())
    assert abs(reference.mean_luminance - expected_light) < 15.0
    update = tracker.observe_prepared(at(70), live_frames[0])
    moved = update.assessment.check(ImageProblem.MOVED)
    assert moved.evaluated
    assert not moved.fired


def test_a_gap_in_the_samples_restarts_the_wait(
    blurred_frames: tuple[AnalysisFrame, ...], day_reference: SceneReference
) -> None:
    config = ImageHealthConfig.model_validate(
        {"defocused": {"raise_after_s": 5, "clear_after_s": 5}, "max_sample_gap_s": 10}
    )
    tracker = CameraImageHealth("psh-011", config=config, reference=day_reference)
    seen = _feed(tracker, _live(blurred_frames, range(4)) + _live(blurred_frames, range(20, 30)))
    assert seen == [(ImageProblem.DEFOCUSED, STARTED, 20.0, 25.0)]


def test_transitions_carry_the_camera_and_score(
    live_frames: tuple[AnalysisFrame, ...], day_reference: SceneReference
) -> None:
    config = ImageHealthConfig.model_validate({"black": {"raise_after_s": 0}})
    tracker = CameraImageHealth("psh-012", config=config, reference=day_reference)
    tracker.observe_prepared(at(0), live_frames[0])
    update = tracker.observe(at(1), scenes.black_frame(9))
    (transition,) = update.transitions
    assert transition.camera_id == "psh-012"
    assert transition.problem is ImageProblem.BLACK
    assert transition.score is not None
    assert transition.score >= config.black.trigger
    assert dict(update.active) == {ImageProblem.BLACK: at(1)}
    with pytest.raises(TypeError):
        update.active[ImageProblem.FROZEN] = at(1)  # type: ignore[index]  # read-only view


def test_a_resolution_change_starts_learning_again(
    view: scenes.Image, live_frames: tuple[AnalysisFrame, ...], day_reference: SceneReference
) -> None:
    tracker = CameraImageHealth("psh-013", reference=day_reference)
    tracker.observe_prepared(at(0), live_frames[0])
    update = tracker.observe(at(1), scenes.resized(view, 704, 576))
    assert not update.reference_ready
    assert tracker.references == ()
    assert not update.assessment.check(ImageProblem.MOVED).evaluated


def test_learn_reference_forgets_the_old_view(
    live_frames: tuple[AnalysisFrame, ...], day_reference: SceneReference
) -> None:
    tracker = CameraImageHealth("psh-014", reference=day_reference)
    tracker.learn_reference()
    update = tracker.observe_prepared(at(0), live_frames[0])
    assert not update.reference_ready
    assert update.assessment.check(ImageProblem.MOVED).note == "no reference view yet"


@pytest.mark.parametrize(
    ("later", "message"),
    [
        (at(5), "not after the previous one"),
        (at(4), "not after the previous one"),
        (at(6).replace(tzinfo=None), "timezone-aware"),
    ],
    ids=["repeated", "backwards", "naive"],
)
def test_sample_times_must_move_forward(
    live_frames: tuple[AnalysisFrame, ...], later: datetime, message: str
) -> None:
    tracker = CameraImageHealth("psh-015")
    tracker.observe_prepared(at(5), live_frames[0])
    with pytest.raises(ValueError, match=message):
        tracker.observe_prepared(later, live_frames[1])


def test_frames_must_match_the_analysis_width(live_frames: tuple[AnalysisFrame, ...]) -> None:
    tracker = CameraImageHealth("psh-016")
    wide = prepare_frame(np.zeros((360, 640, 3), dtype=np.uint8), 640)
    with pytest.raises(ValueError, match="640 px wide"):
        tracker.observe_prepared(at(0), wide)
    with pytest.raises(InvalidFrame):
        tracker.observe(at(1), np.zeros((360, 640), dtype=np.uint8))


def test_a_camera_needs_an_id() -> None:
    with pytest.raises(ValueError, match="camera_id"):
        CameraImageHealth("")
