"""The model manifest: which file, its SHA-256, input size, classes, licence and output layout.

A Darknet model is two files: the weights (``file``, ``sha256``) and the network
description (``config_file``, ``config_sha256``); both are checked, since a
changed ``.cfg`` loads silently into a different network.

Validation is pure; hashing the file is a separate, explicit step
(:func:`verify_model_file`) so a manifest can be checked without touching a
possibly large model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from safecity.core.errors import ConfigError
from safecity.core.yamlfile import load_yaml_model

BackendName = Literal["onnx_yolo", "darknet"]
YoloLayout = Literal["yolov5", "yolov8", "yolox"]


class ModelManifest(BaseModel):
    """Describes one detector model file; paths are relative to the manifest's folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: BackendName = Field(description="Runtime: 'onnx_yolo' (ONNX Runtime) or 'darknet'.")
    file: Path = Field(description="Model file (.onnx, or Darknet .weights).")
    config_file: Path | None = Field(
        default=None, description="Darknet network description (.cfg); Darknet only."
    )
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of ``file``, hex.")
    config_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of ``config_file``, hex; required with ``config_file``.",
    )
    input_width: int = Field(ge=32, le=4096, description="Network input width in pixels.")
    input_height: int = Field(ge=32, le=4096, description="Network input height in pixels.")
    classes: tuple[str, ...] = Field(
        min_length=1, max_length=10000, description="Class names in the model's output order."
    )
    layout: YoloLayout | None = Field(
        default=None,
        description="Output layout of an ONNX YOLO model: yolov5, yolov8 (also v11) or yolox.",
    )
    licence: str = Field(min_length=1, max_length=200, description="Licence of the weights.")
    confidence_threshold: float = Field(
        default=0.35, gt=0, lt=1, description="Detections below this score are dropped."
    )
    nms_threshold: float = Field(
        default=0.45, gt=0, lt=1, description="IoU above which overlapping boxes of a class merge."
    )
    keep_classes: tuple[str, ...] | None = Field(
        default=None, description="Report only these classes (e.g. person, car); None keeps all."
    )

    def check_consistency(self) -> None:
        """Cross-field rules, raising ConfigError (kept out of validation to name them clearly)."""
        if self.backend == "onnx_yolo" and self.layout is None:
            raise ConfigError("an onnx_yolo manifest needs 'layout' (yolov5, yolov8 or yolox)")
        if self.backend == "darknet" and self.config_file is None:
            raise ConfigError("a darknet manifest needs 'config_file' (the .cfg)")
        if self.config_file is not None and self.config_sha256 is None:
            raise ConfigError("a manifest with 'config_file' needs 'config_sha256' (its SHA-256)")
        if self.config_file is None and self.config_sha256 is not None:
            raise ConfigError("'config_sha256' is given without 'config_file'")
        unknown = set(self.keep_classes or ()) - set(self.classes)
        if unknown:
            raise ConfigError(f"keep_classes names classes the model lacks: {sorted(unknown)}")


def load_manifest(path: Path) -> tuple[ModelManifest, Path]:
    """The manifest at ``path`` and the folder its relative paths start from."""
    manifest = load_yaml_model(path, ModelManifest)
    manifest.check_consistency()
    return manifest, path.parent


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model_file(manifest: ModelManifest, base: Path) -> Path:
    """The model file's path after checking it (and the Darknet ``config_file``, if any)
    exists and matches the manifest's SHA-256."""
    path = _verified("model file", manifest.file, manifest.sha256, base)
    if manifest.config_file is not None:
        if manifest.config_sha256 is None:  # check_consistency refuses this already
            raise ConfigError("a manifest with 'config_file' needs 'config_sha256'")
        _verified("model config file", manifest.config_file, manifest.config_sha256, base)
    return path


def _verified(what: str, file: Path, expected: str, base: Path) -> Path:
    path = file if file.is_absolute() else base / file
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist")
    actual = sha256_of(path)
    if actual != expected:
        raise ConfigError(
            f"{what} {path} has SHA-256 {actual}, the manifest expects {expected} "
            "(corrupt or replaced file)"
        )
    return path
