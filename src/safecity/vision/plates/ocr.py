"""The text models behind the reader: PP-OCRv4's detector and recogniser (ONNX).

The model files ship inside the ``rapidocr-onnxruntime`` package, so nothing is
downloaded, ever. Only the two networks are used, each through its own ONNX
Runtime session opened here (the package's direction classifier is never
loaded): the detector's quadrilaterals, at a scale the caller chooses, and the
recogniser's per-step character probabilities, which :mod:`lattice` decodes
onto A-Z0-9 (the package's own decoder would return Chinese look-alikes and
punctuation and throw the alternatives away).

Why not the package's ``RapidOCR`` object: its detector enlarges every image
until the short side is 736 px (a 300 px vehicle crop became 1100 x 736, over
half a second of work on one core), its recogniser pads every line to 320 px,
and its detector object stores per-call state on itself, so two threads sharing
it race. Here both sessions are used read-only after loading: ONNX Runtime
allows concurrent ``run`` calls on one session, so one engine serves several
camera pipelines in one process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt

from safecity.vision.onnx_runtime import LoadOnce, cpu_session_options
from safecity.vision.plates.lattice import Alphabet, LineRead, decode_line

Image = npt.NDArray[np.uint8]
Quad = npt.NDArray[np.float32]
"""Four corners, (4, 2) float32: top-left, top-right, bottom-right, bottom-left."""

REC_HEIGHT = 48
_REC_MIN_WIDTH = 160
_REC_MAX_WIDTH = 1600
_DET_STRIDE = 32
_DET_MAX_SIDE = 2048
_DETECTOR_FILE = "ch_PP-OCRv4_det_infer.onnx"
_RECOGNISER_FILE = "ch_PP-OCRv4_rec_infer.onnx"


class EngineUnavailable(RuntimeError):
    """The OCR models cannot be loaded (rapidocr-onnxruntime or onnxruntime missing,
    or a model file missing or corrupt)."""


@dataclass(frozen=True)
class TextBox:
    """A text line the detector found: its corners in image pixels."""

    quad: Quad

    @property
    def width(self) -> float:
        return float(np.linalg.norm(self.quad[1] - self.quad[0]))

    @property
    def height(self) -> float:
        return float(np.linalg.norm(self.quad[3] - self.quad[0]))

    def bounds(self) -> tuple[int, int, int, int]:
        x0, y0 = np.floor(self.quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(self.quad.max(axis=0)).astype(int)
        return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


@dataclass(frozen=True)
class _Loaded:
    detector: Any
    recogniser: Any
    postprocess: Any
    alphabet: Alphabet


def shipped_model_dir() -> Path:
    """The folder of PP-OCRv4 models inside the installed rapidocr-onnxruntime package."""
    try:
        return Path(str(resources.files("rapidocr_onnxruntime"))) / "models"
    except ModuleNotFoundError as exc:
        raise EngineUnavailable(
            "rapidocr-onnxruntime is not installed; run scripts/setup.sh"
        ) from exc


class TextEngine:
    """Detector and recogniser, loaded once on first use; safe to share between threads.

    ``threads`` is ONNX Runtime's intra-op thread count per call (default 1: several
    cameras share a machine, and one thread per call avoids oversubscribing it; calls
    from several threads run in parallel on the same sessions). ``model_dir`` holds
    the two ``.onnx`` files (default: the ones shipped in rapidocr-onnxruntime).
    """

    def __init__(self, threads: int = 1, model_dir: Path | None = None) -> None:
        if threads < 0:
            raise ValueError(f"threads must be 0 (ONNX Runtime's default) or more, got {threads}")
        self._threads = threads
        self._model_dir = model_dir
        self._loaded = LoadOnce(self._open)

    def _open(self) -> _Loaded:
        try:
            import onnxruntime as ort
            from rapidocr_onnxruntime.ch_ppocr_det.utils import (  # type: ignore[import-untyped]
                DBPostProcess,
            )
        except ImportError as exc:
            raise EngineUnavailable(
                "rapidocr-onnxruntime and onnxruntime must be installed; run scripts/setup.sh"
            ) from exc
        folder = self._model_dir or shipped_model_dir()
        # Inputs change size every call: an arena would keep the largest one for good.
        options = cpu_session_options(ort, self._threads, memory_arena=False)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sessions = []
        for name in (_DETECTOR_FILE, _RECOGNISER_FILE):
            path = folder / name
            if not path.is_file():
                raise EngineUnavailable(f"OCR model file missing: {path}")
            try:
                sessions.append(
                    ort.InferenceSession(
                        str(path), sess_options=options, providers=["CPUExecutionProvider"]
                    )
                )
            except Exception as exc:  # onnxruntime raises its own untyped errors
                raise EngineUnavailable(f"OCR model {path} cannot be loaded: {exc}") from exc
        detector, recogniser = sessions
        metadata = recogniser.get_modelmeta().custom_metadata_map
        if "character" not in metadata:
            raise EngineUnavailable(f"recogniser {folder / _RECOGNISER_FILE} has no character list")
        # The recogniser's classes: CTC blank, the listed characters, then a space.
        characters = ["blank", *metadata["character"].splitlines(), " "]
        postprocess = DBPostProcess(
            thresh=0.3, box_thresh=0.5, max_candidates=200, unclip_ratio=1.6, use_dilation=True
        )
        return _Loaded(detector, recogniser, postprocess, Alphabet.from_characters(characters))

    def warm_up(self) -> None:
        """Load the models now (else on the first call)."""
        self._loaded.get()

    def detect(self, image: Image, scale: float = 1.0) -> list[TextBox]:
        """Text lines in a BGR image, top to bottom, in the image's pixels.

        The detector sees the image resized by ``scale`` (rounded to its 32 px
        stride): its cost grows with those pixels, and it finds text lines a few
        pixels high upwards, so callers shrink large images and enlarge small ones.
        """
        loaded = self._loaded.get()
        height, width = image.shape[:2]
        limit = _DET_MAX_SIDE / max(height, width)
        scale = min(scale, limit)
        target_w = max(_DET_STRIDE, round(width * scale / _DET_STRIDE) * _DET_STRIDE)
        target_h = max(_DET_STRIDE, round(height * scale / _DET_STRIDE) * _DET_STRIDE)
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image, (target_w, target_h), interpolation=interpolation)
        tensor = (resized.astype(np.float32) * (2.0 / 255.0) - 1.0).transpose(2, 0, 1)[None]
        name = loaded.detector.get_inputs()[0].name
        prediction = loaded.detector.run(None, {name: np.ascontiguousarray(tensor)})[0]
        boxes, _scores = loaded.postprocess(prediction, (height, width))
        found = []
        for box in boxes:
            quad = _clockwise(np.asarray(box, dtype=np.float32).reshape(4, 2))
            quad[:, 0] = quad[:, 0].clip(0, width - 1)
            quad[:, 1] = quad[:, 1].clip(0, height - 1)
            text_box = TextBox(quad)
            if text_box.width > 3 and text_box.height > 3:
                found.append(text_box)
        return sorted(found, key=lambda box: (float(box.quad[:, 1].mean()), float(box.quad[0, 0])))

    def recognise(self, lines: list[Image]) -> list[LineRead]:
        """Read each BGR line image (one text line each)."""
        if not lines:
            return []
        loaded = self._loaded.get()
        name = loaded.recogniser.get_inputs()[0].name
        results: list[LineRead] = []
        for line in lines:
            batch = _normalise_line(line)[np.newaxis]
            probs = cast(npt.NDArray[np.float32], loaded.recogniser.run(None, {name: batch})[0])
            results.append(decode_line(probs[0], loaded.alphabet))
        return results


def _clockwise(points: Quad) -> Quad:
    """Corners ordered top-left, top-right, bottom-right, bottom-left."""
    by_x = points[np.argsort(points[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def _normalise_line(line: Image) -> npt.NDArray[np.float32]:
    """Resize to the recogniser's 48 px height and scale to [-1, 1], padded on the right.

    The recogniser's cost grows with the width it is given: a line is padded only
    up to a short minimum, not to the 320 px RapidOCR uses for every line.
    """
    height, width = line.shape[:2]
    target = max(1, min(_REC_MAX_WIDTH, math.ceil(REC_HEIGHT * width / max(height, 1))))
    resized = cv2.resize(line, (target, REC_HEIGHT), interpolation=cv2.INTER_CUBIC)
    scaled = resized.astype(np.float32).transpose(2, 0, 1) * (2.0 / 255.0) - 1.0
    padded = np.zeros((3, REC_HEIGHT, max(_REC_MIN_WIDTH, target)), dtype=np.float32)
    padded[:, :, :target] = scaled
    return padded


def crop_quad(
    image: Image, quad: Quad, pad_x: float = 0.0, pad_y: float = 0.0, widen: float = 1.0
) -> Image:
    """The quadrilateral warped to an upright rectangle, grown by a fraction each side,
    and ``widen`` times as wide as that (its characters stretched sideways)."""
    top = quad[1] - quad[0]
    side = quad[3] - quad[0]
    width = float(np.linalg.norm(top))
    height = float(np.linalg.norm(side))
    if width < 1 or height < 1:
        return np.zeros((0, 0, 3), dtype=np.uint8)
    ux, uy = top / width, side / height
    grown = np.array(
        [
            quad[0] - ux * width * pad_x - uy * height * pad_y,
            quad[1] + ux * width * pad_x - uy * height * pad_y,
            quad[2] + ux * width * pad_x + uy * height * pad_y,
            quad[3] - ux * width * pad_x + uy * height * pad_y,
        ],
        dtype=np.float32,
    )
    out_w = max(1, round(width * (1 + 2 * pad_x) * widen))
    out_h = max(1, round(height * (1 + 2 * pad_y)))
    target = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(grown, target)
    warped = cv2.warpPerspective(
        image, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return cast(Image, warped)
