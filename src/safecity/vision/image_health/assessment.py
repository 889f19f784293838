"""One sample's verdict: every check's score against its thresholds, in one immutable value.

:func:`assess_frame` is pure: it reads the sample, the previous sample and the
references, and returns a :class:`HealthAssessment`. Checks that cannot judge
a sample say so (score None and a note) instead of guessing: focus and
alignment mean nothing on a black, white or covered picture, and a uniform
picture repeats exactly without being frozen. That also keeps one cause from
raising a cascade of alarms (a capped lens is "black", not also "moved").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from safecity.vision.image_health.config import ImageHealthConfig
from safecity.vision.image_health.exposure import LuminanceStats, measure_luminance
from safecity.vision.image_health.frame import AnalysisFrame
from safecity.vision.image_health.problems import Direction, ImageProblem
from safecity.vision.image_health.scene import (
    SceneAlignment,
    SceneReference,
    align_to_references,
    extract_features,
    light_distance,
)
from safecity.vision.image_health.sharpness import measure_sharpness
from safecity.vision.image_health.stillness import changed_fraction
from safecity.vision.image_health.texture import measure_texture

# Reasons a check did not judge a sample.
NO_PREVIOUS = "no previous sample to compare with"
SIZE_CHANGED = "frame size differs from the one compared with"
UNIFORM = "picture is uniform, so repeating it proves nothing"
NO_REFERENCE = "no reference view yet"
BLIND = "no scene visible (black, overexposed or covered)"
TOO_FEW_EDGES = "too few edges to judge"
TOO_FEW_KEYPOINTS = "too few key points to judge"
PLAIN_REFERENCE = "reference view has too few key points to align with"
EXPOSURE_EXPLAINS = "exposure already explains the missing texture"


@dataclass(frozen=True)
class CheckResult:
    """One check on one sample: its score, the thresholds it was held to, and why it was
    not evaluated when ``score`` is None."""

    problem: ImageProblem
    score: float | None
    trigger: float
    release: float
    direction: Direction
    note: str = ""

    def __post_init__(self) -> None:
        if self.score is not None and not math.isfinite(self.score):
            raise ValueError(f"{self.problem} score must be finite, got {self.score}")
        if self.score is None and not self.note:
            raise ValueError(f"{self.problem} was not evaluated but gives no reason")
        worse_release = (
            self.release > self.trigger
            if self.direction is Direction.HIGHER_IS_WORSE
            else self.release < self.trigger
        )
        if worse_release:
            raise ValueError(
                f"{self.problem}: release {self.release} lies on the bad side of trigger "
                f"{self.trigger} for a {self.direction} score"
            )

    @property
    def evaluated(self) -> bool:
        return self.score is not None

    @property
    def fired(self) -> bool:
        """The sample is bad enough to count towards starting the problem."""
        return self.score is not None and self._beyond(self.score, self.trigger)

    @property
    def persists(self) -> bool:
        """The sample is not yet good enough to count towards clearing the problem."""
        return self.score is not None and self._beyond(self.score, self.release)

    def _beyond(self, score: float, threshold: float) -> bool:
        if self.direction is Direction.HIGHER_IS_WORSE:
            return score >= threshold
        return score <= threshold


@dataclass(frozen=True)
class HealthAssessment:
    """Every check on one sample, in :class:`ImageProblem` order."""

    at: datetime
    checks: tuple[CheckResult, ...]
    mean_luminance: float
    alignment: SceneAlignment | None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("assessment time must be timezone-aware")
        problems = tuple(check.problem for check in self.checks)
        if problems != tuple(ImageProblem):
            raise ValueError(
                f"checks must cover {[p.value for p in ImageProblem]} in order, "
                f"got {[p.value for p in problems]}"
            )

    def check(self, problem: ImageProblem) -> CheckResult:
        return self.checks[list(ImageProblem).index(problem)]

    @property
    def fired(self) -> frozenset[ImageProblem]:
        return frozenset(check.problem for check in self.checks if check.fired)


def assess_frame(
    frame: AnalysisFrame,
    *,
    at: datetime,
    previous: AnalysisFrame | None,
    references: Sequence[SceneReference],
    config: ImageHealthConfig,
) -> HealthAssessment:
    """Run every check on one sample.

    ``previous`` is the sample before (for the frozen check); ``references`` are the
    camera's healthy views, any order (empty while the camera is still learning).
    """
    luminance = measure_luminance(
        frame.grey,
        dark_level=config.black.dark_level,
        bright_level=config.overexposed.bright_level,
    )
    black = _result(ImageProblem.BLACK, luminance.dark_fraction, config)
    overexposed = _result(ImageProblem.OVEREXPOSED, luminance.bright_fraction, config)
    covered = _covered(frame, config, exposure_fired=black.fired or overexposed.fired)
    blind = black.fired or overexposed.fired or covered.fired
    by_light = sorted(
        references, key=lambda ref: light_distance(ref.mean_luminance, luminance.mean)
    )
    comparable = [ref for ref in by_light if ref.shape == frame.grey.shape]
    # A reference of a plain wall or sky cannot anchor an alignment; matching
    # nothing against it would read as "moved" forever.
    alignable = [ref for ref in comparable if len(ref.features) >= config.moved.min_keypoints]
    alignment = _alignment(frame, alignable, config, blind=blind)
    return HealthAssessment(
        at=at,
        checks=(
            _frozen(frame, previous, luminance, config),
            black,
            overexposed,
            covered,
            _defocused(frame, by_light, comparable, config, blind=blind),
            _moved(alignment, by_light, comparable, config, blind=blind),
        ),
        mean_luminance=luminance.mean,
        alignment=alignment,
    )


def _frozen(
    frame: AnalysisFrame,
    previous: AnalysisFrame | None,
    luminance: LuminanceStats,
    config: ImageHealthConfig,
) -> CheckResult:
    settings = config.frozen
    if previous is None:
        return _result(ImageProblem.FROZEN, None, config, NO_PREVIOUS)
    if luminance.contrast < settings.min_contrast:
        return _result(ImageProblem.FROZEN, None, config, UNIFORM)
    changed = changed_fraction(previous.grey, frame.grey, tolerance=settings.pixel_tolerance)
    return _result(
        ImageProblem.FROZEN, changed, config, "" if changed is not None else SIZE_CHANGED
    )


def _covered(
    frame: AnalysisFrame, config: ImageHealthConfig, *, exposure_fired: bool
) -> CheckResult:
    settings = config.covered
    if exposure_fired:
        return _result(ImageProblem.COVERED, None, config, EXPOSURE_EXPLAINS)
    texture = measure_texture(
        frame.grey,
        grid_columns=settings.grid_columns,
        texture_floor=settings.texture_floor,
        noise_multiple=settings.noise_multiple,
    )
    return _result(ImageProblem.COVERED, texture.textureless_fraction, config)


def _defocused(
    frame: AnalysisFrame,
    by_light: Sequence[SceneReference],
    comparable: Sequence[SceneReference],
    config: ImageHealthConfig,
    *,
    blind: bool,
) -> CheckResult:
    unavailable = _scene_unavailable(by_light, comparable, blind=blind)
    if unavailable is not None:
        return _result(ImageProblem.DEFOCUSED, None, config, unavailable)
    stats = measure_sharpness(frame.grey)
    yardstick = comparable[0].sharpness
    if stats.mean_gradient < config.defocused.min_gradient or yardstick <= 0.0:
        return _result(ImageProblem.DEFOCUSED, None, config, TOO_FEW_EDGES)
    return _result(ImageProblem.DEFOCUSED, stats.sharpness / yardstick, config)


def _alignment(
    frame: AnalysisFrame,
    alignable: Sequence[SceneReference],
    config: ImageHealthConfig,
    *,
    blind: bool,
) -> SceneAlignment | None:
    # Key points are the most expensive step; skip them when nothing would use them.
    if blind or not alignable:
        return None
    features = extract_features(frame.grey, max_features=config.moved.max_features)
    return align_to_references(features, alignable, config.moved)


def _moved(
    alignment: SceneAlignment | None,
    by_light: Sequence[SceneReference],
    comparable: Sequence[SceneReference],
    config: ImageHealthConfig,
    *,
    blind: bool,
) -> CheckResult:
    unavailable = _scene_unavailable(by_light, comparable, blind=blind)
    if unavailable is not None:
        return _result(ImageProblem.MOVED, None, config, unavailable)
    if alignment is None:
        # The scene is visible and comparable, so only plain references skipped alignment.
        return _result(ImageProblem.MOVED, None, config, PLAIN_REFERENCE)
    if alignment.displacement is not None:
        return _result(ImageProblem.MOVED, alignment.displacement, config)
    if alignment.keypoints >= config.moved.min_keypoints:
        # Plenty to see, yet nothing lines up with any reference: the view is elsewhere.
        return _result(ImageProblem.MOVED, 1.0, config, "view matches no reference")
    return _result(ImageProblem.MOVED, None, config, TOO_FEW_KEYPOINTS)


def _scene_unavailable(
    by_light: Sequence[SceneReference], comparable: Sequence[SceneReference], *, blind: bool
) -> str | None:
    """Why a sample cannot be held against a reference view, or None when it can."""
    if not by_light:
        return NO_REFERENCE
    if blind:
        return BLIND
    if not comparable:
        return SIZE_CHANGED
    return None


def _result(
    problem: ImageProblem, score: float | None, config: ImageHealthConfig, note: str = ""
) -> CheckResult:
    settings = config.thresholds(problem)
    direction = Direction.HIGHER_IS_WORSE if settings.higher_is_worse else Direction.LOWER_IS_WORSE
    return CheckResult(
        problem=problem,
        score=score,
        trigger=settings.trigger,
        release=settings.release,
        direction=direction,
        note=note,
    )
