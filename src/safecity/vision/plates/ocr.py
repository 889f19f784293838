"""The text models behind the reader: RapidOCR's detector and recogniser (PP-OCRv4, ONNX).

``rapidocr-onnxruntime`` ships its model files inside the package, so nothing is
downloaded, ever. It is imported on first use, not when this module is imported.
Only the two networks are used: the detector's quadrilaterals, and the
recogniser's per-step character probabilities, which :mod:`lattice` decodes onto
A-Z0-9 (the package's own decoder would return Chinese look-alikes and
punctuation and throw the alternatives away).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt

from safecity.vision.plates.lattice import Alphabet, LineRead, decode_line

Image = npt.NDArray[np.uint8]
Quad = npt.NDArray[np.float32]
"""Four corners, (4, 2) float32: top-left, top-right, bottom-right, bottom-left."""

REC_HEIGHT = 48
_REC_MIN_WIDTH = 320
_REC_MAX_WIDTH = 1600


class EngineUnavailable(RuntimeError):
    """The OCR package is not installed (install rapidocr-onnxruntime without its deps)."""


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


class TextEngine:
    """Detector and recogniser, loaded once on first use; safe to share between threads."""

    def __init__(self, threads: int = 0) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._ocr: Any = None
        self._alphabet: Alphabet | None = None

    def _load(self) -> tuple[Any, Alphabet]:
        with self._lock:
            if self._ocr is None:
                try:
                    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]
                except ImportError as exc:
                    raise EngineUnavailable(
                        "rapidocr-onnxruntime is not installed; run scripts/setup.sh"
                    ) from exc
                threads = self._threads if self._threads > 0 else -1
                self._ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
                characters = self._ocr.text_rec.postprocess_op.character
                self._alphabet = Alphabet.from_characters(list(characters))
            if self._alphabet is None:
                raise EngineUnavailable("text recogniser has no character list")
            return self._ocr, self._alphabet

    def detect(self, image: Image) -> list[TextBox]:
        """Text lines in a BGR image, top to bottom."""
        ocr, _ = self._load()
        boxes, _elapsed = ocr.text_det(image)
        if boxes is None or len(boxes) == 0:
            return []
        found = [TextBox(np.asarray(box, dtype=np.float32).reshape(4, 2)) for box in boxes]
        return sorted(found, key=lambda box: (float(box.quad[:, 1].mean()), float(box.quad[0, 0])))

    def recognise(self, lines: list[Image]) -> list[LineRead]:
        """Read each BGR line image (one text line each)."""
        if not lines:
            return []
        ocr, alphabet = self._load()
        results: list[LineRead] = []
        for line in lines:
            batch = _normalise_line(line)[np.newaxis]
            probs = cast(npt.NDArray[np.float32], ocr.text_rec.session(batch)[0])
            results.append(decode_line(probs[0], alphabet))
        return results


def _normalise_line(line: Image) -> npt.NDArray[np.float32]:
    """Resize to the recogniser's 48 px height and scale to [-1, 1], padded on the right."""
    height, width = line.shape[:2]
    target = max(1, min(_REC_MAX_WIDTH, math.ceil(REC_HEIGHT * width / max(height, 1))))
    resized = cv2.resize(line, (target, REC_HEIGHT), interpolation=cv2.INTER_CUBIC)
    scaled = resized.astype(np.float32).transpose(2, 0, 1) / 255.0
    scaled = (scaled - 0.5) / 0.5
    padded = np.zeros((3, REC_HEIGHT, max(_REC_MIN_WIDTH, target)), dtype=np.float32)
    padded[:, :, :target] = scaled
    return padded


def crop_quad(image: Image, quad: Quad, pad_x: float = 0.0, pad_y: float = 0.0) -> Image:
    """The quadrilateral warped to an upright rectangle, grown by a fraction each side."""
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
    out_w = max(1, round(width * (1 + 2 * pad_x)))
    out_h = max(1, round(height * (1 + 2 * pad_y)))
    target = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(grown, target)
    warped = cv2.warpPerspective(
        image, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return cast(Image, warped)
