"""The backend registry: a factory per manifest ``backend`` key, and ``load_detector``.

It sits above the backends it names (they import only ``base``), so a backend
never reaches back up here and the package's imports run one way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from safecity.core.errors import ConfigError
from safecity.vision.detectors.base import Detector, DetectorUnavailable, ModelError
from safecity.vision.detectors.darknet import DarknetDetector
from safecity.vision.detectors.manifest import ModelManifest, load_manifest, verify_model_file
from safecity.vision.detectors.onnx_yolo import OnnxYoloDetector

BackendFactory = Callable[[ModelManifest, Path], Detector]
# Factories only: a backend's runtime (onnxruntime, OpenCV's Darknet loader) is
# looked for when a manifest asks for it, so a missing one never fails this import.
_BACKENDS: dict[str, BackendFactory] = {
    "onnx_yolo": OnnxYoloDetector.from_manifest,
    "darknet": DarknetDetector.from_manifest,
}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Add or replace a backend (tests may swap one in)."""
    _BACKENDS[name] = factory


def backend_names() -> tuple[str, ...]:
    return tuple(sorted(_BACKENDS))


def load_detector(manifest_path: Path) -> Detector:
    """Build the detector a manifest describes, after checking the model file's SHA-256.

    Raises ModelError (bad manifest, missing/corrupt file, outputs that do not
    match) or DetectorUnavailable (runtime not installed), never anything else.
    """
    try:
        manifest, base = load_manifest(manifest_path)
        verify_model_file(manifest, base)
    except ConfigError as exc:
        raise ModelError(str(exc)) from exc
    factory = _BACKENDS.get(manifest.backend)
    if factory is None:
        raise DetectorUnavailable(f"no detector backend named {manifest.backend!r}")
    return factory(manifest, base)
