"""The project's own plate locator: where in a vehicle region its plate is, without OCR.

A small network (trained on simulator renders only: ``models/PLATE_LOCATOR.md``, training
code ``training/train_plate_locator.py``) takes a vehicle region made grey and stretched
to a fixed square and gives, on a stride-8 grid, a plate-centre score per cell and each
cell's guess of the plate's four corners. The cells whose score is a local peak above a
threshold are the plates found; their corners, scaled back, are quadrilaterals in the
region's pixels. About a millisecond a region on one core, against 12-21 ms for PP-OCR's
text detector on the same region.

The model file is described by a JSON manifest beside it (file, sha256, input, outputs,
stride, licence). Loading checks the file's digest and the network's input and output
shapes against the manifest: a corrupt, replaced or mismatched file raises
:class:`~safecity.vision.plates.slots.ModelInvalid` saying what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from safecity.vision.onnx_runtime import LoadOnce
from safecity.vision.plates.ocr import Image, Quad
from safecity.vision.plates.result import PixelBox
from safecity.vision.plates.slots import ModelInvalid, checked_session

MANIFEST_NAME = "plate_locator.json"
INPUT_SIDE = 128
"""The square the region is stretched to (the training data is made the same way)."""
_MIN_SIDE = 8


def prepare_region(region: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A BGR or grey region as the locator sees it: grey, stretched to the input square
    (area averaging when shrinking, bilinear when enlarging)."""
    grey = region if region.ndim == 2 else cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
    shrink = grey.shape[0] > INPUT_SIDE or grey.shape[1] > INPUT_SIDE
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(grey, (INPUT_SIDE, INPUT_SIDE), interpolation=interpolation))


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    height: int
    width: int
    channels: int


class _Output(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    channels: int


class LocatorManifest(BaseModel):
    """What a plate locator file must be: the locator refuses a file that differs."""

    model_config = ConfigDict(extra="ignore")
    file: str
    sha256: str
    input: _Input
    heat: _Output
    corners: _Output
    stride: int
    threshold: float
    licence: str

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError("sha256 must be 64 lower-case hex digits")
        return value

    @field_validator("threshold")
    @classmethod
    def _probability(cls, value: float) -> float:
        if not 0.0 < value < 1.0:
            raise ValueError("threshold must lie strictly between 0 and 1")
        return value


def shipped_manifest() -> Path:
    """The manifest of the locator shipped inside this package."""
    return Path(str(resources.files("safecity.vision.plates"))) / "models" / MANIFEST_NAME


def load_manifest(path: Path) -> LocatorManifest:
    """The manifest at ``path``, or :class:`ModelInvalid` saying why it is unusable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelInvalid(f"plate locator manifest missing: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelInvalid(f"plate locator manifest {path} is not readable JSON: {exc}") from exc
    try:
        manifest = LocatorManifest.model_validate(raw)
    except ValidationError as exc:
        raise ModelInvalid(f"plate locator manifest {path} is invalid: {exc}") from exc
    spec = manifest.input
    if spec.channels != 1 or spec.height != INPUT_SIDE or spec.width != INPUT_SIDE:
        raise ModelInvalid(
            f"plate locator manifest {path}: input {spec.channels}x{spec.height}x{spec.width}, "
            f"this code feeds 1x{INPUT_SIDE}x{INPUT_SIDE} grey"
        )
    if manifest.heat.channels != 1 or manifest.corners.channels != 8:
        raise ModelInvalid(
            f"plate locator manifest {path}: outputs must be 1 heat and 8 corner channels, "
            f"got {manifest.heat.channels} and {manifest.corners.channels}"
        )
    if manifest.stride < 1 or INPUT_SIDE % manifest.stride:
        raise ModelInvalid(f"plate locator manifest {path}: stride {manifest.stride} invalid")
    return manifest


@dataclass(frozen=True)
class LocatedPlate:
    """One plate the locator found, in the pixels of the region it was given."""

    quad: Quad
    """Corners (4, 2): top-left, top-right, bottom-right, bottom-left."""
    score: float
    """The centre score, 0..1: how sure the locator is that a plate is there."""

    @property
    def box(self) -> PixelBox:
        x0, y0 = np.floor(self.quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(self.quad.max(axis=0)).astype(int)
        return PixelBox(int(x0), int(y0), int(x1 - x0), int(y1 - y0))


@dataclass(frozen=True)
class _Loaded:
    session: Any
    manifest: LocatorManifest


class PlateLocator:
    """The shipped (or a given) plate locator, loaded and checked on first use.

    ``threshold`` overrides the manifest's centre-score threshold; ``threads`` the ONNX
    Runtime threads (default 1). Thread-safe: the session is only ``run`` after loading.
    """

    def __init__(
        self,
        manifest: Path | None = None,
        *,
        threads: int = 1,
        threshold: float | None = None,
        max_plates: int = 3,
    ) -> None:
        if threads < 0:
            raise ValueError(f"threads must be 0 (ONNX Runtime's default) or more, got {threads}")
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
        if max_plates < 1:
            raise ValueError(f"max_plates must be at least 1, got {max_plates}")
        self._manifest_path = manifest
        self._threads = threads
        self._threshold = threshold
        self.max_plates = max_plates
        self._loaded = LoadOnce(self._open)

    def warm_up(self) -> None:
        self._loaded.get()

    @property
    def manifest(self) -> LocatorManifest:
        return self._loaded.get().manifest

    def _open(self) -> _Loaded:
        manifest_path = self._manifest_path or shipped_manifest()
        manifest = load_manifest(manifest_path)
        model_path = manifest_path.parent / manifest.file
        session = checked_session("plate locator", model_path, manifest.sha256, self._threads)
        _check_shapes(session, manifest, model_path)
        return _Loaded(session, manifest)

    def locate(self, region: npt.NDArray[np.generic]) -> list[LocatedPlate]:
        """Plates in ``region`` (a vehicle's box cut from a frame, BGR or grey uint8),
        most certain first; corners in the region's pixels. A region smaller than 8
        pixels either way has none; a non-image raises ``ValueError``."""
        image = _checked(region)
        height, width = image.shape[:2]
        if min(height, width) < _MIN_SIDE:
            return []
        loaded = self._loaded.get()
        manifest = loaded.manifest
        pixels = prepare_region(image).astype(np.float32)[np.newaxis, np.newaxis]
        heat, corners = loaded.session.run(
            [manifest.heat.name, manifest.corners.name], {manifest.input.name: pixels}
        )
        cells = INPUT_SIDE // manifest.stride
        heat = cast(npt.NDArray[np.float32], heat)[0, 0]
        corners = cast(npt.NDArray[np.float32], corners)[0]
        if heat.shape != (cells, cells) or corners.shape != (8, cells, cells):
            raise ModelInvalid(
                f"plate locator gave outputs {heat.shape} and {corners.shape}, "
                f"not ({cells}, {cells}) and (8, {cells}, {cells})"
            )
        threshold = self._threshold if self._threshold is not None else manifest.threshold
        scale = np.array([width / INPUT_SIDE, height / INPUT_SIDE], np.float32)
        found = []
        for row, col in _peaks(heat, threshold)[: self.max_plates]:
            centre = (np.array([col, row], np.float32) + 0.5) * manifest.stride
            quad = (corners[:, row, col].reshape(4, 2) + centre) * scale
            found.append(LocatedPlate(quad.astype(np.float32), float(heat[row, col])))
        return found


def _peaks(heat: npt.NDArray[np.float32], threshold: float) -> list[tuple[int, int]]:
    """Cells above ``threshold`` that are the maximum of their 3x3 neighbourhood, best first."""
    widest = cv2.dilate(heat, np.ones((3, 3), np.uint8))
    rows, cols = np.nonzero((heat >= threshold) & (heat >= widest))
    order = np.argsort(-heat[rows, cols])
    return [(int(rows[i]), int(cols[i])) for i in order]


def _checked(region: object) -> Image:
    if not isinstance(region, np.ndarray):
        raise ValueError(f"region must be a numpy array, got {type(region).__name__}")
    if region.dtype != np.uint8:
        raise ValueError(f"region must be uint8, got dtype {region.dtype}")
    if region.ndim == 3 and region.shape[2] == 4:
        return cast(Image, cv2.cvtColor(region, cv2.COLOR_BGRA2BGR))
    if region.ndim == 2 or (region.ndim == 3 and region.shape[2] in (1, 3)):
        return cast(Image, region[:, :, 0] if region.ndim == 3 and region.shape[2] == 1 else region)
    raise ValueError(
        f"region must have shape (h, w), (h, w, 1), (h, w, 3) or (h, w, 4); got {region.shape}"
    )


def _check_shapes(session: Any, manifest: LocatorManifest, path: Path) -> None:
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].name != manifest.input.name:
        raise ModelInvalid(
            f"plate locator {path}: input is not the manifest's {manifest.input.name}"
        )
    want_in = [1, manifest.input.height, manifest.input.width]
    if list(inputs[0].shape[1:]) != want_in:
        raise ModelInvalid(
            f"plate locator {path}: input shape {inputs[0].shape}, manifest says [N, {want_in}]"
        )
    cells = INPUT_SIDE // manifest.stride
    outputs = {output.name: list(output.shape[1:]) for output in session.get_outputs()}
    for spec in (manifest.heat, manifest.corners):
        want = [spec.channels, cells, cells]
        if outputs.get(spec.name) != want:
            raise ModelInvalid(
                f"plate locator {path}: output {spec.name!r} has shape "
                f"{outputs.get(spec.name)}, manifest says [N, {want}]"
            )
