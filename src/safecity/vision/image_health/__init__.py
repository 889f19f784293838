"""Is the picture a camera sends still worth watching?

Checks on one frame (black, overexposed, covered, defocused, moved) and on two
consecutive frames (frozen) reduce each sample to a :class:`HealthAssessment`;
:class:`CameraImageHealth` keeps one camera's reference view and turns those
assessments into problems that start and clear with hysteresis.

Every check reads the same small grey copy of the frame (320 px wide by
default), so one sample per second costs a few milliseconds per camera.
"""

from safecity.vision.image_health.assessment import CheckResult, HealthAssessment, assess_frame
from safecity.vision.image_health.config import (
    BlackConfig,
    CheckConfig,
    CoveredConfig,
    DefocusedConfig,
    FrozenConfig,
    ImageHealthConfig,
    MovedConfig,
    OverexposedConfig,
    ReferenceConfig,
)
from safecity.vision.image_health.frame import AnalysisFrame, InvalidFrame, prepare_frame
from safecity.vision.image_health.hysteresis import TransitionKind
from safecity.vision.image_health.problems import Direction, ImageProblem
from safecity.vision.image_health.scene import SceneAlignment, SceneReference, build_reference
from safecity.vision.image_health.tracker import (
    CameraImageHealth,
    HealthTransition,
    HealthUpdate,
)

__all__ = [
    "AnalysisFrame",
    "BlackConfig",
    "CameraImageHealth",
    "CheckConfig",
    "CheckResult",
    "CoveredConfig",
    "DefocusedConfig",
    "Direction",
    "FrozenConfig",
    "HealthAssessment",
    "HealthTransition",
    "HealthUpdate",
    "ImageHealthConfig",
    "ImageProblem",
    "InvalidFrame",
    "MovedConfig",
    "OverexposedConfig",
    "ReferenceConfig",
    "SceneAlignment",
    "SceneReference",
    "TransitionKind",
    "assess_frame",
    "build_reference",
    "prepare_frame",
]
