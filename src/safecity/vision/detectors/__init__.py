"""Object detector backends behind one small interface, loaded from an operator's manifest.

``load_detector(manifest_path)`` reads the manifest, checks the model file's
SHA-256, and builds the backend its ``backend`` key names. Nothing is ever
downloaded: the file is where the operator put it.
"""

from safecity.vision.detectors.backends import backend_names, load_detector, register_backend
from safecity.vision.detectors.base import Detector, DetectorUnavailable, ModelError
from safecity.vision.detectors.manifest import ModelManifest, load_manifest, verify_model_file

__all__ = [
    "Detector",
    "DetectorUnavailable",
    "ModelError",
    "ModelManifest",
    "backend_names",
    "load_detector",
    "load_manifest",
    "register_backend",
    "verify_model_file",
]
