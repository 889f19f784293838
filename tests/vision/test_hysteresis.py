"""The debouncer on scripted score sequences: when problems start and clear, and when not.

Each row is a sequence of (second, score) samples through one debouncer with
trigger 0.8, release 0.6 (higher is worse), raise after 3 s and clear after 2 s,
and the exact transitions expected as (kind, since, reported at).
"""

from __future__ import annotations

import pytest

from safecity.vision.image_health import CheckResult, Direction, ImageProblem, TransitionKind
from safecity.vision.image_health.hysteresis import ProblemDebouncer
from tests.vision.conftest import at

STARTED = TransitionKind.STARTED
CLEARED = TransitionKind.CLEARED

Samples = list[tuple[float, float | None]]
Expected = list[tuple[TransitionKind, float, float]]


def _result(score: float | None) -> CheckResult:
    return CheckResult(
        problem=ImageProblem.COVERED,
        score=score,
        trigger=0.8,
        release=0.6,
        direction=Direction.HIGHER_IS_WORSE,
        note="" if score is not None else "not judged",
    )


def _run(samples: Samples) -> Expected:
    debouncer = ProblemDebouncer(raise_after_s=3.0, clear_after_s=2.0)
    seen: Expected = []
    for second, score in samples:
        change = debouncer.update(at(second), _result(score))
        if change is not None:
            since = (change.since - at(0)).total_seconds()
            seen.append((change.kind, since, second))
    return seen


def _steady(score: float, seconds: range) -> Samples:
    return [(float(second), score) for second in seconds]


CASES: list[tuple[str, Samples, Expected]] = [
    ("healthy throughout", _steady(0.1, range(20)), []),
    (
        "starts after 3 s, counted from the first bad sample",
        _steady(0.1, range(5)) + _steady(0.9, range(5, 12)),
        [(STARTED, 5.0, 8.0)],
    ),
    ("one bad sample", [*_steady(0.1, range(5)), (5.0, 0.95), *_steady(0.1, range(6, 15))], []),
    (
        "bad every other second never starts",
        [(float(second), 0.9 if second % 2 else 0.1) for second in range(30)],
        [],
    ),
    (
        "clears 2 s after the first good sample",
        _steady(0.9, range(10)) + _steady(0.1, range(10, 20)),
        [(STARTED, 0.0, 3.0), (CLEARED, 10.0, 12.0)],
    ),
    (
        "between release and trigger holds an active problem",
        _steady(0.9, range(5)) + _steady(0.7, range(5, 30)),
        [(STARTED, 0.0, 3.0)],
    ),
    (
        "between release and trigger never starts one",
        _steady(0.7, range(30)),
        [],
    ),
    (
        "one good sample does not clear",
        [*_steady(0.9, range(10)), (10.0, 0.1), *_steady(0.9, range(11, 20))],
        [(STARTED, 0.0, 3.0)],
    ),
    (
        "a sample the check could not judge restarts the wait",
        [*_steady(0.9, range(2)), (2.0, None), *_steady(0.9, range(3, 8))],
        [(STARTED, 3.0, 6.0)],
    ),
    (
        "unjudged samples keep an active problem active",
        _steady(0.9, range(5)) + [(float(second), None) for second in range(5, 30)],
        [(STARTED, 0.0, 3.0)],
    ),
    (
        "starts again after clearing",
        _steady(0.9, range(5)) + _steady(0.1, range(5, 10)) + _steady(0.9, range(10, 15)),
        [(STARTED, 0.0, 3.0), (CLEARED, 5.0, 7.0), (STARTED, 10.0, 13.0)],
    ),
]


@pytest.mark.parametrize(
    ("samples", "expected"),
    [pytest.param(samples, expected, id=name) for name, samples, expected in CASES],
)
def test_debouncer(samples: Samples, expected: Expected) -> None:
    assert _run(samples) == expected


def test_raise_after_zero_starts_on_the_first_bad_sample() -> None:
    debouncer = ProblemDebouncer(raise_after_s=0.0, clear_after_s=0.0)
    change = debouncer.update(at(4), _result(0.9))
    assert change is not None
    assert (change.kind, change.since) == (STARTED, at(4))
    assert debouncer.active_since == at(4)


def test_interrupt_forgets_running_durations() -> None:
    debouncer = ProblemDebouncer(raise_after_s=3.0, clear_after_s=2.0)
    for second in range(3):
        assert debouncer.update(at(second), _result(0.9)) is None
    debouncer.interrupt()
    assert debouncer.update(at(3), _result(0.9)) is None
    change = debouncer.update(at(6), _result(0.9))
    assert change is not None
    assert change.since == at(3)
