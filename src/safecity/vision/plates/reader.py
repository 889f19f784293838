"""Read the plates in one image: find text lines, group them, read, validate, rank."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from safecity.vision.plates.interpret import Interpretation, interpret
from safecity.vision.plates.lattice import LineRead
from safecity.vision.plates.localise import Candidate, candidates
from safecity.vision.plates.ocr import Image, TextBox, TextEngine, crop_quad
from safecity.vision.plates.regions import plate_regions
from safecity.vision.plates.result import GENERIC_RULE, PixelBox, PlateRead
from safecity.vision.plates.rules import FormatRules

_MIN_SIDE = 8
_ZOOM_HEIGHT = 60.0
_MAX_ZOOM = 4.0


class InvalidImage(ValueError):
    """The input is not an image the reader can use (wrong type, dtype or shape)."""


@dataclass(frozen=True)
class _Variant:
    pad_x: float
    pad_y: float
    contrast: bool


# Tight crop first; a looser one recovers characters the detector clipped at the ends;
# contrast normalisation helps dark, hazy and low-contrast plates.
_VARIANTS = (
    _Variant(0.03, 0.08, contrast=False),
    _Variant(0.12, 0.12, contrast=False),
    _Variant(0.12, 0.12, contrast=True),
)
_GOOD_ENOUGH = 0.93


class PlateReader:
    """Finds and reads registration plates; the OCR models load on the first read.

    ``rules`` decides which texts count as registrations (Pakistan by default).
    ``max_candidates`` bounds the text lines read per image; ``proposals`` how many
    plate-like regions found by image cues (:mod:`regions`) the detector passed over
    are enlarged and read again (small, distant plates); ``threads`` the ONNX Runtime
    threads (0: its default). Instances may be shared between threads.
    """

    def __init__(
        self,
        rules: FormatRules | None = None,
        *,
        max_candidates: int = 24,
        min_confidence: float = 0.5,
        threads: int = 0,
        proposals: int = 2,
        engine: TextEngine | None = None,
    ) -> None:
        self.rules = rules if rules is not None else FormatRules.default()
        self.max_candidates = max_candidates
        self.min_confidence = min_confidence
        self.proposals = proposals
        self._engine = engine if engine is not None else TextEngine(threads=threads)

    def read(
        self, image: npt.NDArray[np.generic], region: tuple[int, int, int, int] | None = None
    ) -> list[PlateRead]:
        """Plates in ``image`` (BGR or grey uint8), most plausible first.

        ``region`` (x, y, w, h), e.g. a vehicle detector's box, restricts the search;
        boxes in the results are always in the pixels of ``image``. An empty image or
        region gives no reads; a non-image raises :class:`InvalidImage`.
        """
        bgr = as_bgr(image)
        offset_x, offset_y = 0, 0
        if region is not None:
            x, y, w, h = (int(value) for value in region)
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(bgr.shape[1], x + w), min(bgr.shape[0], y + h)
            if x1 - x0 < _MIN_SIDE or y1 - y0 < _MIN_SIDE:
                return []
            bgr = np.ascontiguousarray(bgr[y0:y1, x0:x1])
            offset_x, offset_y = x0, y0
        if min(bgr.shape[:2]) < _MIN_SIDE:
            return []
        reads = self._read_image(bgr)
        if self.proposals > 0:
            reads = self._read_proposals(bgr, reads)
        return [
            PlateRead(
                text=read.text,
                confidence=read.confidence,
                box=PixelBox(read.box.x + offset_x, read.box.y + offset_y, read.box.w, read.box.h),
                lines=read.lines,
                rule=read.rule,
            )
            for read in reads
        ]

    def _read_image(self, bgr: Image) -> list[PlateRead]:
        boxes = self._engine.detect(bgr)
        return self._read_candidates(bgr, candidates(boxes)[: self.max_candidates * 2])

    def _read_proposals(self, bgr: Image, reads: list[PlateRead]) -> list[PlateRead]:
        """Enlarge plate-like regions the detector passed over and read them again."""
        added: list[PlateRead] = []
        height, width = bgr.shape[:2]
        for x, y, w, h in plate_regions(bgr, limit=self.proposals):
            probe = PixelBox(x, y, w, h)
            if any(_covers(read.box, probe) for read in reads + added):
                continue
            x0, y0 = max(0, x - w // 2), max(0, y - h)
            x1, y1 = min(width, x + w + w // 2), min(height, y + 2 * h)
            scale = min(_MAX_ZOOM, max(1.0, _ZOOM_HEIGHT / max(h, 1)))
            crop = np.ascontiguousarray(bgr[y0:y1, x0:x1])
            if scale > 1.0:
                crop = cast(
                    Image,
                    cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC),
                )
            for read in self._read_image(crop):
                bx, by, bw, bh = read.box.as_tuple()
                box = PixelBox(
                    x0 + round(bx / scale),
                    y0 + round(by / scale),
                    max(1, round(bw / scale)),
                    max(1, round(bh / scale)),
                )
                added.append(PlateRead(read.text, read.confidence, box, read.lines, read.rule))
                break
        merged = reads + [read for read in added if all(read.text != r.text for r in reads)]
        return sorted(merged, key=lambda read: -read.confidence) if added else reads

    def read_crop(self, crop: npt.NDArray[np.generic]) -> PlateRead | None:
        """Read an image that is already one plate (tight crop, one or more lines)."""
        bgr = as_bgr(crop)
        if min(bgr.shape[:2]) < _MIN_SIDE:
            return None
        reads = self.read(bgr)
        if reads:
            return reads[0]
        height, width = bgr.shape[:2]
        whole = TextBox(
            np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
        )
        found = self._read_candidates(bgr, [Candidate((whole,))])
        return found[0] if found else None

    def _read_candidates(self, image: Image, found: Sequence[Candidate]) -> list[PlateRead]:
        scored: list[tuple[float, PlateRead]] = []
        cache: dict[tuple[int, int], LineRead] = {}
        for candidate in found:
            best = self._read_candidate(image, candidate, cache)
            if best is None or best.confidence < self.min_confidence:
                continue
            x, y, w, h = candidate.bounds()
            read = PlateRead(
                text=best.text,
                confidence=round(best.confidence, 4),
                box=PixelBox(max(0, x), max(0, y), w, h),
                lines=best.lines,
                rule=best.rule,
            )
            scored.append((_rank(best), read))
        scored.sort(key=lambda item: -item[0])
        unique: list[PlateRead] = []
        for _, read in scored:
            if any(read.text == kept.text or read.box.iou(kept.box) > 0.3 for kept in unique):
                continue
            unique.append(read)
            if len(unique) >= self.max_candidates:
                break
        return unique

    def _read_candidate(
        self, image: Image, candidate: Candidate, cache: dict[tuple[int, int], LineRead]
    ) -> Interpretation | None:
        best: Interpretation | None = None
        for index, variant in enumerate(_VARIANTS):
            lines = []
            for line in candidate.lines:
                key = (id(line), index)
                if key not in cache:
                    crop = crop_quad(image, line.quad, variant.pad_x, variant.pad_y)
                    if crop.size == 0:
                        cache[key] = LineRead(tokens=(), raw="")
                    else:
                        if variant.contrast:
                            crop = normalise_contrast(crop)
                        cache[key] = self._engine.recognise([crop])[0]
                lines.append(cache[key])
            found = interpret(lines, self.rules)
            if found is not None and (best is None or _rank(found) > _rank(best)):
                best = found
            if best is not None and best.rule != GENERIC_RULE and best.confidence >= _GOOD_ENOUGH:
                break
        return best


def _covers(read: PixelBox, probe: PixelBox) -> bool:
    """The read's box overlaps the probe or holds its centre."""
    cx, cy = probe.centre
    inside = read.x <= cx <= read.x + read.w and read.y <= cy <= read.y + read.h
    return inside or read.iou(probe) > 0.2


def _rank(found: Interpretation) -> float:
    """Higher is more plausible: confident, cheap, and fitting a known format."""
    specific = 0.3 if found.rule != GENERIC_RULE else 0.0
    return found.confidence - 0.1 * found.cost + specific


def normalise_contrast(crop: Image) -> Image:
    """Grey, contrast-limited histogram equalisation, back to three channels."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(2, 8))
    equalised = clahe.apply(grey)
    return cast(Image, cv2.cvtColor(equalised, cv2.COLOR_GRAY2BGR))


def as_bgr(image: object) -> Image:
    """A contiguous BGR uint8 copy-free view of ``image``, or :class:`InvalidImage`."""
    if not isinstance(image, np.ndarray):
        raise InvalidImage(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InvalidImage(f"image must be uint8, got dtype {image.dtype}")
    if image.ndim == 2:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)) if image.size else _empty()
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InvalidImage(
            f"image must have shape (h, w), (h, w, 3) or (h, w, 4); got {image.shape}"
        )
    if image.size == 0:
        return _empty()
    if image.shape[2] == 4:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_BGRA2BGR))
    return cast(Image, np.ascontiguousarray(image))


def _empty() -> Image:
    return np.zeros((0, 0, 3), dtype=np.uint8)
