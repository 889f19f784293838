"""One camera's image health over time: samples in, problems that start and clear out.

The tracker owns what a single sample cannot know: the previous sample (for the
frozen check), the reference views (learned from the first healthy minute, or
given), and one hysteresis state per problem. It holds no clock, thread or I/O:
the caller passes each sample's time, so replaying a recording gives the same
transitions as watching it live.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from safecity.vision.image_health.assessment import HealthAssessment, assess_frame
from safecity.vision.image_health.config import ImageHealthConfig
from safecity.vision.image_health.frame import AnalysisFrame, prepare_frame
from safecity.vision.image_health.hysteresis import ProblemDebouncer, TransitionKind
from safecity.vision.image_health.problems import ImageProblem
from safecity.vision.image_health.scene import SceneReference, build_reference, light_distance

# Problems during which a sample shows no usable scene, so it is never learned.
_BLINDING = frozenset({ImageProblem.BLACK, ImageProblem.OVEREXPOSED, ImageProblem.COVERED})


@dataclass(frozen=True)
class HealthTransition:
    """A problem started or cleared on a camera.

    ``since`` is when it really began (or ended): the first sample of the run that
    confirmed it. ``reported_at`` is the sample at which the hysteresis was
    satisfied, ``since`` plus at least the raise or clear time.
    """

    camera_id: str
    problem: ImageProblem
    kind: TransitionKind
    since: datetime
    reported_at: datetime
    score: float | None

    def __post_init__(self) -> None:
        if self.since > self.reported_at:
            raise ValueError(f"since ({self.since}) is after reported_at ({self.reported_at})")


@dataclass(frozen=True)
class HealthUpdate:
    """What one sample changed: its assessment, any transitions, and the problems now active
    (each with the time it began)."""

    assessment: HealthAssessment
    transitions: tuple[HealthTransition, ...]
    active: Mapping[ImageProblem, datetime]
    reference_ready: bool


class CameraImageHealth:
    """Image health of one camera, fed about one sample per second.

    Learns its reference from the first ``reference.learning_s`` seconds of healthy
    samples unless one is given; :meth:`set_reference` replaces it (an operator
    accepting the current view, or a reference restored after a restart) and
    :meth:`learn_reference` starts learning afresh.
    """

    def __init__(
        self,
        camera_id: str,
        *,
        config: ImageHealthConfig | None = None,
        reference: SceneReference | None = None,
    ) -> None:
        if not camera_id:
            raise ValueError("camera_id must not be empty")
        self._camera_id = camera_id
        self._config = config if config is not None else ImageHealthConfig()
        self._debouncers = {problem: self._debouncer_for(problem) for problem in ImageProblem}
        self._previous: AnalysisFrame | None = None
        self._last_at: datetime | None = None
        self._references: list[SceneReference] = []
        self._learning = True
        self._learning_since: datetime | None = None
        self._learning_frames: list[AnalysisFrame] = []
        self._last_learned_at: datetime | None = None
        if reference is not None:
            self.set_reference(reference)

    @property
    def camera_id(self) -> str:
        return self._camera_id

    @property
    def config(self) -> ImageHealthConfig:
        return self._config

    @property
    def references(self) -> tuple[SceneReference, ...]:
        """The learned or given reference first, then views adopted under other light."""
        return tuple(self._references)

    @property
    def reference_ready(self) -> bool:
        return not self._learning

    @property
    def active(self) -> Mapping[ImageProblem, datetime]:
        """Active problems and when each began."""
        return MappingProxyType(
            {
                problem: since
                for problem, debouncer in self._debouncers.items()
                if (since := debouncer.active_since) is not None
            }
        )

    def set_reference(self, reference: SceneReference) -> None:
        """Use this view as the only reference from the next sample on."""
        self._references = [reference]
        self._stop_learning()

    def learn_reference(self) -> None:
        """Forget every reference and learn a new one from the coming samples."""
        self._references = []
        self._learning = True
        self._learning_since = None
        self._learning_frames = []
        self._last_learned_at = None

    def observe(self, at: datetime, frame: npt.NDArray[np.uint8]) -> HealthUpdate:
        """Assess one BGR uint8 frame taken at ``at`` (timezone-aware, later than the last)."""
        return self.observe_prepared(at, prepare_frame(frame, self._config.analysis_width))

    def observe_prepared(self, at: datetime, frame: AnalysisFrame) -> HealthUpdate:
        """As :meth:`observe`, for a frame the caller already reduced with the same width."""
        self._check_time(at)
        if frame.width != self._config.analysis_width:
            raise ValueError(
                f"frame is {frame.width} px wide, the tracker analyses "
                f"{self._config.analysis_width} px"
            )
        if self._references and self._references[0].shape != frame.grey.shape:
            # The stream changed resolution or aspect: the old view cannot be compared.
            self.learn_reference()
        if self._last_at is not None:
            gap = (at - self._last_at).total_seconds()
            if gap > self._config.max_sample_gap_s:
                for debouncer in self._debouncers.values():
                    debouncer.interrupt()
        assessment = assess_frame(
            frame,
            at=at,
            previous=self._previous,
            references=self._references,
            config=self._config,
        )
        transitions = self._debounce(at, assessment)
        if self._learning:
            self._learn(at, frame, assessment)
        else:
            self._maybe_adopt(frame, assessment)
        self._previous = frame
        self._last_at = at
        return HealthUpdate(
            assessment=assessment,
            transitions=transitions,
            active=self.active,
            reference_ready=self.reference_ready,
        )

    def _check_time(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("sample time must be timezone-aware")
        if self._last_at is not None and at <= self._last_at:
            raise ValueError(f"sample time {at} is not after the previous one {self._last_at}")

    def _debouncer_for(self, problem: ImageProblem) -> ProblemDebouncer:
        settings = self._config.thresholds(problem)
        return ProblemDebouncer(
            raise_after_s=settings.raise_after_s, clear_after_s=settings.clear_after_s
        )

    def _debounce(self, at: datetime, assessment: HealthAssessment) -> tuple[HealthTransition, ...]:
        transitions = []
        for check in assessment.checks:
            change = self._debouncers[check.problem].update(at, check)
            if change is not None:
                transitions.append(
                    HealthTransition(
                        camera_id=self._camera_id,
                        problem=check.problem,
                        kind=change.kind,
                        since=change.since,
                        reported_at=at,
                        score=check.score,
                    )
                )
        return tuple(transitions)

    def _learn(self, at: datetime, frame: AnalysisFrame, assessment: HealthAssessment) -> None:
        settings = self._config.reference
        if self._learning_since is None:
            self._learning_since = at
        if self._learning_frames and self._learning_frames[0].grey.shape != frame.grey.shape:
            self.learn_reference()
            self._learning_since = at
        # Spread the kept samples over the learning time, so the median sees
        # traffic at different places rather than one queue at a red light.
        interval = settings.learning_s / settings.learning_samples
        due = (
            self._last_learned_at is None
            or (at - self._last_learned_at).total_seconds() >= interval
        )
        healthy = not (assessment.fired & _BLINDING)
        if due and healthy and len(self._learning_frames) < settings.learning_samples:
            self._learning_frames.append(frame)
            self._last_learned_at = at
        learned_long_enough = (at - self._learning_since).total_seconds() >= settings.learning_s
        if learned_long_enough and len(self._learning_frames) >= settings.min_learning_samples:
            reference = build_reference(
                self._learning_frames, max_features=self._config.moved.max_features
            )
            self._references = [reference]
            self._stop_learning()

    def _stop_learning(self) -> None:
        self._learning = False
        self._learning_since = None
        self._learning_frames = []
        self._last_learned_at = None

    def _maybe_adopt(self, frame: AnalysisFrame, assessment: HealthAssessment) -> None:
        """Keep this sample as an extra reference for its light, when it is confirmed in place.

        Night, dusk and infrared views share little texture with the day view; a
        reference per light level keeps the moved check working around the clock.
        Only samples that line up with an existing reference are adopted, so a
        turned camera cannot teach the tracker its new view.
        """
        settings = self._config.reference
        alignment = assessment.alignment
        if len(self._references) >= settings.max_references or alignment is None:
            return
        if (
            alignment.displacement is None
            or alignment.displacement > settings.adopt_max_displacement
        ):
            return
        if assessment.fired or any(d.active_since is not None for d in self._debouncers.values()):
            return
        far_enough = math.log(settings.adopt_brightness_ratio)
        if all(
            light_distance(reference.mean_luminance, assessment.mean_luminance) >= far_enough
            for reference in self._references
        ):
            self._references.append(
                build_reference([frame], max_features=self._config.moved.max_features)
            )
