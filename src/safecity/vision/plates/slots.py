"""The project's own plate recogniser: a small CNN that reads a whole plate crop at once.

The network (trained on generated plates only: ``models/MODEL_CARD.md``, training code
in ``training/``) takes a grey plate crop resized to a fixed size and gives, for each of
a fixed number of character slots, a probability over A-Z, 0-9 and "empty". A two-line
plate comes out upper line first; printed words and year tags are never emitted. Reading
one crop costs about a millisecond on one core, a few percent of PP-OCR's detector.

The model file is described by a JSON manifest beside it (file, sha256, input size,
alphabet, slots, licence). Loading checks the file's digest and the network's input and
output shapes against the manifest: a corrupt, replaced or mismatched file raises
:class:`ModelInvalid` with what is wrong, never a wrong read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from safecity.vision.onnx_runtime import LoadOnce, cpu_session_options
from safecity.vision.plates.lattice import ALNUM, CharSlot, LineRead
from safecity.vision.plates.ocr import EngineUnavailable, Image

MANIFEST_NAME = "plate_recogniser.json"
_ALTERNATIVES = 5


class ModelInvalid(EngineUnavailable):
    """The plate model or its manifest is missing, corrupt, or does not match."""


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    height: int
    width: int
    channels: int


class _Output(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    slots: int
    classes: int


class PlateModelManifest(BaseModel):
    """What a plate model file must be: the reader refuses a file that differs."""

    model_config = ConfigDict(extra="ignore")
    file: str
    sha256: str
    input: _Input
    output: _Output
    alphabet: str
    slots: int
    licence: str

    @field_validator("alphabet")
    @classmethod
    def _plate_characters(cls, value: str) -> str:
        if not value or len(set(value)) != len(value) or any(c not in ALNUM for c in value):
            raise ValueError("alphabet must be distinct characters of A-Z0-9")
        return value

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError("sha256 must be 64 lower-case hex digits")
        return value


def shipped_manifest() -> Path:
    """The manifest of the model shipped inside this package."""
    return Path(str(resources.files("safecity.vision.plates"))) / "models" / MANIFEST_NAME


def load_manifest(path: Path) -> PlateModelManifest:
    """The manifest at ``path``, or :class:`ModelInvalid` saying why it is unusable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelInvalid(f"plate model manifest missing: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelInvalid(f"plate model manifest {path} is not readable JSON: {exc}") from exc
    try:
        manifest = PlateModelManifest.model_validate(raw)
    except ValidationError as exc:
        raise ModelInvalid(f"plate model manifest {path} is invalid: {exc}") from exc
    if manifest.output.slots != manifest.slots:
        raise ModelInvalid(f"plate model manifest {path}: output slots differ from slots")
    if manifest.output.classes != len(manifest.alphabet) + 1:
        raise ModelInvalid(
            f"plate model manifest {path}: {manifest.output.classes} output classes for an "
            f"alphabet of {len(manifest.alphabet)} plus the empty slot"
        )
    if manifest.input.channels != 1:
        raise ModelInvalid(f"plate model manifest {path}: only grey (1 channel) input is read")
    return manifest


@dataclass(frozen=True)
class SlotRead:
    """One plate crop as the model read it."""

    line: LineRead
    """The registration as one token of character slots, with each slot's alternatives."""
    confidence: float
    """Probability of the whole reading: the product of every slot's best probability
    (empty slots included, so a doubtful length lowers it too)."""

    @property
    def text(self) -> str:
        return self.line.text


def checked_session(what: str, model_path: Path, sha256: str, threads: int) -> Any:
    """An ONNX Runtime session of the model file whose SHA-256 its manifest gives; a missing,
    corrupt or unloadable file raises :class:`ModelInvalid` naming ``what`` it is."""
    try:
        content = model_path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelInvalid(f"{what} file missing: {model_path}") from exc
    digest = hashlib.sha256(content).hexdigest()
    if digest != sha256:
        raise ModelInvalid(
            f"{what} {model_path} has sha256 {digest}, its manifest says "
            f"{sha256}: the file is corrupt or not the one described"
        )
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise EngineUnavailable("onnxruntime must be installed; run scripts/setup.sh") from exc
    options = cpu_session_options(ort, threads)
    try:
        return ort.InferenceSession(
            content, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelInvalid(f"{what} {model_path} cannot be loaded: {exc}") from exc


@dataclass(frozen=True)
class _Loaded:
    session: Any
    manifest: PlateModelManifest


class SlotRecogniser:
    """The shipped (or a given) plate model, loaded and checked on first use.

    Thread-safe like :class:`~safecity.vision.plates.ocr.TextEngine`: the session is
    only ``run`` after loading, which ONNX Runtime allows from several threads.
    """

    def __init__(self, manifest: Path | None = None, threads: int = 1) -> None:
        if threads < 0:
            raise ValueError(f"threads must be 0 (ONNX Runtime's default) or more, got {threads}")
        self._manifest_path = manifest
        self._threads = threads
        self._loaded = LoadOnce(self._open)

    def warm_up(self) -> None:
        self._loaded.get()

    @property
    def manifest(self) -> PlateModelManifest:
        return self._loaded.get().manifest

    def _open(self) -> _Loaded:
        manifest_path = self._manifest_path or shipped_manifest()
        manifest = load_manifest(manifest_path)
        model_path = manifest_path.parent / manifest.file
        session = checked_session("plate model", model_path, manifest.sha256, self._threads)
        _check_shapes(session, manifest, model_path)
        return _Loaded(session, manifest)

    def read(self, crops: list[Image]) -> list[SlotRead]:
        """Read each BGR plate crop (a tight or loose box around one plate)."""
        if not crops:
            return []
        loaded = self._loaded.get()
        spec = loaded.manifest.input
        batch = np.stack([_prepare(crop, spec.height, spec.width) for crop in crops])
        probs = cast(npt.NDArray[np.float32], loaded.session.run(None, {spec.name: batch})[0])
        expected = (len(crops), loaded.manifest.slots, len(loaded.manifest.alphabet) + 1)
        if probs.shape != expected:
            raise ModelInvalid(f"plate model gave output of shape {probs.shape}, not {expected}")
        return [_decode(row, loaded.manifest.alphabet) for row in probs]


def _check_shapes(session: Any, manifest: PlateModelManifest, path: Path) -> None:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or inputs[0].name != manifest.input.name:
        raise ModelInvalid(f"plate model {path}: input is not the manifest's {manifest.input.name}")
    want_in = [1, manifest.input.height, manifest.input.width]
    if list(inputs[0].shape[1:]) != want_in:
        raise ModelInvalid(
            f"plate model {path}: input shape {inputs[0].shape}, manifest says [N, {want_in}]"
        )
    want_out = [manifest.slots, manifest.output.classes]
    if not outputs or list(outputs[0].shape[1:]) != want_out:
        shape = outputs[0].shape if outputs else None
        raise ModelInvalid(
            f"plate model {path}: output shape {shape}, manifest says [N, {want_out}]"
        )


def _prepare(crop: Image, height: int, width: int) -> npt.NDArray[np.float32]:
    if crop.ndim != 3 or crop.shape[0] < 2 or crop.shape[1] < 2:
        raise ValueError(f"a plate crop must be a BGR image, got shape {crop.shape}")
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    shrink = grey.shape[0] > height or grey.shape[1] > width
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    resized = cv2.resize(grey, (width, height), interpolation=interpolation)
    return resized.astype(np.float32)[np.newaxis]


def _decode(probs: npt.NDArray[np.float32], alphabet: str) -> SlotRead:
    """Characters of the non-empty slots, each with its best alternatives."""
    pad = len(alphabet)
    slots: list[CharSlot] = []
    confidence = 1.0
    for row in probs:
        best = int(row.argmax())
        confidence *= float(row[best])
        if best == pad:
            continue
        order = np.argsort(-row)[: _ALTERNATIVES + 1]
        choices = tuple((alphabet[int(i)], float(row[i])) for i in order if int(i) != pad)
        slots.append(CharSlot(choices[:_ALTERNATIVES]))
    line = LineRead(tokens=(tuple(slots),) if slots else (), raw="".join(s.best for s in slots))
    return SlotRead(line=line, confidence=confidence)
