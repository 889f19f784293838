"""The reference view and how a sample lines up with it, behind the moved check.

ORB key points are matched against the reference and a similarity transform
(shift, rotation, scale) is fitted with RANSAC. Matches on moving vehicles and
people disagree with the motion of the background and fall out as outliers, so
traffic does not read as a moved camera; ORB compares intensities within a
patch, so a darker or lighter picture of the same view still matches. Frames
are histogram-equalised first so that a dark picture still yields corners.

Measured on the street photos in ../shared/data (320 px, 400 key points): the
same view with noise keeps 369-392 inliers, darkened tenfold 179-324, blurred
55-159, shifted by 2-8 % or turned by 3 degrees 197-303, while an unrelated
view finds 3-7 chance inliers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from safecity.vision.image_health.config import MovedConfig
from safecity.vision.image_health.frame import AnalysisFrame, GreyImage, InvalidFrame
from safecity.vision.image_health.sharpness import measure_sharpness

Points = npt.NDArray[np.float32]
Descriptors = npt.NDArray[np.uint8]

_ORB_DESCRIPTOR_BYTES = 32
# ORB's defaults (31 px patches, 8 levels) suit full-size images; at 320 px wide
# they would discard a fifth of the frame as border and find corners on levels
# only a few dozen pixels across.
_ORB_PATCH = 15
_ORB_LEVELS = 4
_ORB_SCALE = 1.3
_ORB_FAST_THRESHOLD = 10


@dataclass(frozen=True, eq=False)
class SceneFeatures:
    """Key point positions (N x 2, analysis pixels) and their ORB descriptors (N x 32)."""

    points: Points
    descriptors: Descriptors

    def __post_init__(self) -> None:
        if self.points.ndim != 2 or self.points.shape[1] != 2:
            raise ValueError(f"points must have shape (N, 2), got {self.points.shape}")
        expected = (self.points.shape[0], _ORB_DESCRIPTOR_BYTES)
        if self.descriptors.shape != expected:
            raise ValueError(
                f"descriptors must have shape {expected}, got {self.descriptors.shape}"
            )
        if self.points.flags.writeable or self.descriptors.flags.writeable:
            raise ValueError("scene features must be read-only; use extract_features()")

    def __len__(self) -> int:
        return int(self.points.shape[0])


@dataclass(frozen=True, eq=False)
class SceneReference:
    """What the camera's healthy view looks like: a grey image of the analysis size, its
    key points, its mean luminance (to pick the reference closest in light) and its edge
    sharpness (the defocused check's yardstick)."""

    grey: GreyImage
    features: SceneFeatures
    mean_luminance: float
    sharpness: float

    def __post_init__(self) -> None:
        if self.grey.ndim != 2 or self.grey.dtype != np.uint8 or self.grey.flags.writeable:
            raise ValueError("reference image must be a read-only 2-D uint8 array")
        if not 0.0 <= self.mean_luminance <= 255.0:
            raise ValueError(f"mean luminance must lie in 0-255, got {self.mean_luminance}")
        if not np.isfinite(self.sharpness) or self.sharpness < 0.0:
            raise ValueError(f"sharpness must be finite and not negative, got {self.sharpness}")

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.grey.shape[0]), int(self.grey.shape[1]))


@dataclass(frozen=True)
class SceneAlignment:
    """How one sample lines up with the best-matching reference.

    ``displacement`` is the median shift of the four frame corners under the fitted
    motion, as a fraction of the frame diagonal; it is None when no motion with at
    least ``min_inliers`` supporting matches was found.
    """

    reference_index: int | None
    keypoints: int
    matches: int
    inliers: int
    displacement: float | None


def light_distance(first_mean: float, second_mean: float) -> float:
    """How far apart two mean luminances are, as the size of their log ratio."""
    # Ratios, not differences: 20 against 40 is as far apart as 100 against 200.
    return abs(math.log((first_mean + 1.0) / (second_mean + 1.0)))


def extract_features(grey: GreyImage, *, max_features: int) -> SceneFeatures:
    """ORB key points of a grey image after histogram equalisation."""
    equalised = cast(GreyImage, cv2.equalizeHist(grey))
    orb = cv2.ORB.create(
        nfeatures=max_features,
        scaleFactor=_ORB_SCALE,
        nlevels=_ORB_LEVELS,
        edgeThreshold=_ORB_PATCH,
        patchSize=_ORB_PATCH,
        fastThreshold=_ORB_FAST_THRESHOLD,
    )
    keypoints, descriptors = orb.detectAndCompute(equalised, None)
    if not keypoints:
        points = np.empty((0, 2), dtype=np.float32)
        codes = np.empty((0, _ORB_DESCRIPTOR_BYTES), dtype=np.uint8)
    else:
        points = np.array([keypoint.pt for keypoint in keypoints], dtype=np.float32)
        codes = np.ascontiguousarray(cast(Descriptors, descriptors), dtype=np.uint8)
    points.setflags(write=False)
    codes.setflags(write=False)
    return SceneFeatures(points=points, descriptors=codes)


def build_reference(frames: Sequence[AnalysisFrame], *, max_features: int) -> SceneReference:
    """A reference from one or more samples of the same view.

    With several samples the image is their per-pixel median, which keeps the
    background and drops whatever moved through it. Sharpness is the median of the
    samples' own sharpness, because the median image is cleaner than any live
    sample and would make every later sample look soft.
    """
    if not frames:
        raise InvalidFrame("a reference needs at least one frame")
    shapes = {frame.grey.shape for frame in frames}
    if len(shapes) != 1:
        raise InvalidFrame(f"reference frames must share one size, got {sorted(shapes)}")
    if len(frames) == 1:
        grey = frames[0].grey
    else:
        stack = np.stack([frame.grey for frame in frames])
        grey = np.median(stack, axis=0).round().astype(np.uint8)
        grey.setflags(write=False)
    sharpness = float(np.median([measure_sharpness(frame.grey).sharpness for frame in frames]))
    return SceneReference(
        grey=grey,
        features=extract_features(grey, max_features=max_features),
        mean_luminance=float(grey.mean()),
        sharpness=sharpness,
    )


def align_to_references(
    features: SceneFeatures, references: Sequence[SceneReference], config: MovedConfig
) -> SceneAlignment:
    """Fit the sample to each reference in turn, stopping at the first that holds.

    The caller orders the references (closest in light first), so the usual case
    costs one match. When none holds, the attempt with most inliers is reported.
    """
    best = SceneAlignment(
        reference_index=None,
        keypoints=len(features),
        matches=0,
        inliers=0,
        displacement=None,
    )
    for index, reference in enumerate(references):
        attempt = _align(features, reference, index, config)
        if attempt.displacement is not None:
            return attempt
        if attempt.inliers > best.inliers:
            best = attempt
    return best


def _align(
    features: SceneFeatures, reference: SceneReference, index: int, config: MovedConfig
) -> SceneAlignment:
    failed = SceneAlignment(
        reference_index=index,
        keypoints=len(features),
        matches=0,
        inliers=0,
        displacement=None,
    )
    if len(features) < 2 or len(reference.features) < 2:
        return failed
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(features.descriptors, reference.features.descriptors, k=2)
    good = [
        pair[0]
        for pair in pairs
        if len(pair) == 2 and pair[0].distance < config.match_ratio * pair[1].distance
    ]
    failed = SceneAlignment(
        reference_index=index,
        keypoints=len(features),
        matches=len(good),
        inliers=0,
        displacement=None,
    )
    if len(good) < config.min_inliers:
        return failed
    source = reference.features.points[[match.trainIdx for match in good]]
    target = features.points[[match.queryIdx for match in good]]
    transform, inlier_mask = cv2.estimateAffinePartial2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=config.ransac_threshold_px
    )
    # The stubs promise arrays, but OpenCV returns None when RANSAC finds no model.
    model = cast(npt.NDArray[np.float64] | None, transform)
    if model is None or inlier_mask is None:
        return failed
    inliers = int(np.count_nonzero(inlier_mask))
    if inliers < config.min_inliers:
        return SceneAlignment(
            reference_index=index,
            keypoints=len(features),
            matches=len(good),
            inliers=inliers,
            displacement=None,
        )
    return SceneAlignment(
        reference_index=index,
        keypoints=len(features),
        matches=len(good),
        inliers=inliers,
        displacement=_corner_displacement(model, reference.shape),
    )


def _corner_displacement(model: npt.NDArray[np.float64], shape: tuple[int, int]) -> float:
    """Median distance the frame corners travel under ``model``, over the diagonal."""
    height, width = shape
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], dtype=np.float64)
    moved = corners @ model[:, :2].T + model[:, 2]
    travel = np.hypot(*(moved - corners).T)
    return float(np.median(travel)) / float(np.hypot(width, height))
