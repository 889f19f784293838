"""Thresholds and timings of the image health checks, with defaults tuned on real photos.

Each check has two thresholds: ``trigger`` (a sample counts as bad) and
``release`` (an active problem may clear), with release on the healthy side of
trigger so a score hovering near one value cannot flap. Each check also has two
durations: the condition must hold for ``raise_after_s`` before a problem
starts, and be absent for ``clear_after_s`` before it clears. The defaults and
the measurements behind them are in the module docstrings of each check.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from safecity.vision.image_health.problems import ImageProblem


class CheckConfig(BaseModel):
    """Shared shape and validation; each subclass declares its own fields and defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Whether a larger score means a worse picture (dark fraction) or a better
    # one (sharpness); decides on which side of trigger release must lie.
    higher_is_worse: ClassVar[bool] = True

    trigger: float
    release: float
    raise_after_s: float
    clear_after_s: float

    @model_validator(mode="after")
    def _release_on_healthy_side(self) -> Self:
        if self.higher_is_worse and self.release > self.trigger:
            raise ValueError(
                f"release ({self.release}) must not exceed trigger ({self.trigger}): "
                "a larger score is worse for this check"
            )
        if not self.higher_is_worse and self.release < self.trigger:
            raise ValueError(
                f"release ({self.release}) must not be below trigger ({self.trigger}): "
                "a smaller score is worse for this check"
            )
        return self


class FrozenConfig(CheckConfig):
    """Consecutive samples repeat the same pixels while the stream is live."""

    higher_is_worse: ClassVar[bool] = False

    pixel_tolerance: int = Field(
        0,
        ge=0,
        le=255,
        description=(
            "A pixel counts as changed when its grey level differs from the previous sample "
            "by more than this. 0 suits real cameras: sensor noise through any encoder "
            "changes a sixth or more of the pixels between samples a second apart."
        ),
    )
    min_contrast: float = Field(
        3.0,
        ge=0,
        description=(
            "Standard deviation of grey levels below which the check is not evaluated: a "
            "uniform (clipped black or white) picture repeats exactly without any freeze."
        ),
    )
    trigger: float = Field(
        0.005,
        ge=0,
        le=1,
        description=(
            "Fraction of changed pixels at or below which a sample repeats the previous one; "
            "leaves room for an on-screen clock that keeps ticking over a frozen picture."
        ),
    )
    release: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Fraction of changed pixels above which an active freeze may clear.",
    )
    raise_after_s: float = Field(
        10.0, ge=0, description="Seconds of repeated samples before the freeze is reported."
    )
    clear_after_s: float = Field(
        2.0, ge=0, description="Seconds of changing samples before the freeze clears."
    )


class BlackConfig(CheckConfig):
    """Almost every pixel is dark: lens cap, dead sensor, or no light and no infrared."""

    dark_level: int = Field(
        30, ge=0, le=255, description="Grey level at or below which a pixel counts as dark."
    )
    trigger: float = Field(
        0.97,
        ge=0,
        le=1,
        description=(
            "Fraction of dark pixels at or above which the picture is black; a night street "
            "keeps more than 3 % of its pixels in lamps, signs and their glow."
        ),
    )
    release: float = Field(
        0.9, ge=0, le=1, description="Fraction of dark pixels below which a black picture clears."
    )
    raise_after_s: float = Field(
        10.0, ge=0, description="Seconds of black samples before the problem is reported."
    )
    clear_after_s: float = Field(
        10.0, ge=0, description="Seconds of lit samples before the problem clears."
    )


class OverexposedConfig(CheckConfig):
    """Most pixels are near white: sun in the lens, failed iris, or a washed-out picture."""

    bright_level: int = Field(
        200,
        ge=0,
        le=255,
        description=(
            "Grey level at or above which a pixel counts as bright. The brightest street "
            "photo in ../shared/data (pale walls in sun) has 68 % of its pixels at 200 or more."
        ),
    )
    trigger: float = Field(
        0.9,
        ge=0,
        le=1,
        description=(
            "Fraction of bright pixels at or above which the picture is overexposed or "
            "washed out: even its darkest tenth is lifted to bright_level."
        ),
    )
    release: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Fraction of bright pixels below which an overexposed picture clears.",
    )
    raise_after_s: float = Field(
        10.0, ge=0, description="Seconds of overexposed samples before the problem is reported."
    )
    clear_after_s: float = Field(
        10.0, ge=0, description="Seconds of normal samples before the problem clears."
    )


class CoveredConfig(CheckConfig):
    """Most of the picture has no texture: something sits on or right in front of the lens."""

    grid_columns: int = Field(
        16,
        ge=4,
        le=64,
        description=(
            "The analysis frame is cut into square cells, this many across; texture is "
            "judged per cell so a lit corner cannot hide a covered rest."
        ),
    )
    texture_floor: float = Field(
        0.6,
        gt=0,
        description=(
            "Mean absolute band-pass (difference of Gaussians) response, in grey levels, "
            "below which a cell has no texture. A hand on the lens stays under 0.5; a real "
            "street darkened to a fifth of its light keeps more than half its cells above."
        ),
    )
    noise_multiple: float = Field(
        3.0,
        ge=0,
        description=(
            "A cell also has no texture when its response is below this multiple of what the "
            "frame's estimated sensor noise alone would give, so a noisy night blob still "
            "reads as covered."
        ),
    )
    trigger: float = Field(
        0.85,
        ge=0,
        le=1,
        description="Fraction of textureless cells at or above which the camera is covered.",
    )
    release: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Fraction of textureless cells below which a covered camera clears.",
    )
    raise_after_s: float = Field(
        20.0,
        ge=0,
        description=(
            "Seconds of covered samples before the problem is reported; longer than a bus "
            "passing close to the camera, shorter than anyone would take to tamper with it."
        ),
    )
    clear_after_s: float = Field(
        10.0, ge=0, description="Seconds of textured samples before the problem clears."
    )


class DefocusedConfig(CheckConfig):
    """Edges are softer than in the camera's own reference view."""

    higher_is_worse: ClassVar[bool] = False

    min_gradient: float = Field(
        2.0,
        ge=0,
        description=(
            "Mean gradient magnitude (grey levels per pixel) below which the frame has too "
            "few edges to judge focus, and the check is not evaluated."
        ),
    )
    trigger: float = Field(
        0.5,
        gt=0,
        description=(
            "Sharpness relative to the reference at or below which the picture is "
            "defocused; a Gaussian blur of one analysis pixel gives about 0.45."
        ),
    )
    release: float = Field(
        0.65, gt=0, description="Relative sharpness above which a defocused picture clears."
    )
    raise_after_s: float = Field(
        30.0,
        ge=0,
        description="Seconds of soft samples before the problem is reported (rain, fog, spray).",
    )
    clear_after_s: float = Field(
        30.0, ge=0, description="Seconds of sharp samples before the problem clears."
    )


class MovedConfig(CheckConfig):
    """The view no longer lines up with the reference: turned, pushed or redirected."""

    max_features: int = Field(
        400, ge=50, le=5000, description="ORB key points extracted per analysis frame."
    )
    match_ratio: float = Field(
        0.8,
        gt=0,
        lt=1,
        description=(
            "Lowe's ratio test: a match is kept when its distance is below this fraction of "
            "the second best, which discards repetitive texture such as windows."
        ),
    )
    ransac_threshold_px: float = Field(
        3.0,
        gt=0,
        description="Reprojection error, in analysis pixels, up to which a match fits the motion.",
    )
    min_inliers: int = Field(
        15,
        ge=4,
        description=(
            "Matches agreeing on one motion needed to trust it; unrelated views give fewer "
            "than 8 by chance."
        ),
    )
    min_keypoints: int = Field(
        40,
        ge=4,
        description=(
            "Key points a frame needs before a failure to match it counts as a moved camera "
            "rather than too little to see."
        ),
    )
    trigger: float = Field(
        0.02,
        ge=0,
        description=(
            "Displacement of the frame corners, as a fraction of the frame diagonal, at or "
            "above which the camera has moved (a 2 % pan or tilt, a 2.3 degree turn); a view "
            "that matches nothing scores 1."
        ),
    )
    release: float = Field(
        0.01, ge=0, description="Displacement below which a moved camera clears."
    )
    raise_after_s: float = Field(
        20.0,
        ge=0,
        description="Seconds of displaced samples before the problem is reported (wind sway).",
    )
    clear_after_s: float = Field(
        20.0, ge=0, description="Seconds of aligned samples before the problem clears."
    )


class ReferenceConfig(BaseModel):
    """How a camera learns what its healthy view looks like."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    learning_s: float = Field(
        60.0,
        gt=0,
        description=(
            "Seconds over which the first reference is learned; the per-pixel median of "
            "samples spread over this time removes passing vehicles and people."
        ),
    )
    learning_samples: int = Field(
        7, ge=1, le=64, description="Samples kept for the median, spread evenly over learning_s."
    )
    min_learning_samples: int = Field(
        3,
        ge=1,
        description=(
            "Healthy samples needed before a reference is built; black, overexposed or "
            "covered samples are never learned, so learning waits for them to pass."
        ),
    )
    max_references: int = Field(
        4,
        ge=1,
        le=16,
        description=(
            "References kept per camera: the learned one plus views adopted under other "
            "light (dusk, night, infrared) while the camera was confirmed in place."
        ),
    )
    adopt_brightness_ratio: float = Field(
        1.6,
        gt=1,
        description=(
            "A healthy, aligned sample becomes an extra reference when its mean luminance "
            "differs from every kept reference by at least this factor."
        ),
    )
    adopt_max_displacement: float = Field(
        0.005,
        ge=0,
        description=(
            "Largest displacement (fraction of the diagonal) at which a sample counts as "
            "confirmed in place and may be adopted, so a slow turn is never learned."
        ),
    )

    @model_validator(mode="after")
    def _enough_samples_possible(self) -> Self:
        if self.min_learning_samples > self.learning_samples:
            raise ValueError(
                f"min_learning_samples ({self.min_learning_samples}) exceeds "
                f"learning_samples ({self.learning_samples})"
            )
        return self


class ImageHealthConfig(BaseModel):
    """Everything the image health checks of one camera need to know."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    analysis_width: int = Field(
        320,
        ge=64,
        le=1920,
        description=(
            "Width in pixels of the grey copy every check reads; the height keeps the aspect "
            "ratio. Wider sees finer defocus and smaller shifts at a higher cost."
        ),
    )
    max_sample_gap_s: float = Field(
        10.0,
        gt=0,
        description=(
            "Samples further apart than this break every running duration: a problem must "
            "then be seen again for its full raise or clear time."
        ),
    )
    frozen: FrozenConfig = Field(
        default_factory=FrozenConfig, description="Frozen picture thresholds."
    )
    black: BlackConfig = Field(
        default_factory=BlackConfig, description="Black or underexposed picture thresholds."
    )
    overexposed: OverexposedConfig = Field(
        default_factory=OverexposedConfig,
        description="Overexposed or washed-out picture thresholds.",
    )
    covered: CoveredConfig = Field(
        default_factory=CoveredConfig, description="Covered or blocked lens thresholds."
    )
    defocused: DefocusedConfig = Field(
        default_factory=DefocusedConfig, description="Defocus or blur thresholds."
    )
    moved: MovedConfig = Field(
        default_factory=MovedConfig, description="Moved or redirected camera thresholds."
    )
    reference: ReferenceConfig = Field(
        default_factory=ReferenceConfig, description="How the reference view is learned."
    )

    def thresholds(self, problem: ImageProblem) -> CheckConfig:
        """The thresholds and timings of one check."""
        sections: dict[ImageProblem, CheckConfig] = {
            ImageProblem.FROZEN: self.frozen,
            ImageProblem.BLACK: self.black,
            ImageProblem.OVEREXPOSED: self.overexposed,
            ImageProblem.COVERED: self.covered,
            ImageProblem.DEFOCUSED: self.defocused,
            ImageProblem.MOVED: self.moved,
        }
        return sections[problem]
