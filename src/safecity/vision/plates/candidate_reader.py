"""Text-line candidates read and ranked: the step every reading path of the reader ends in.

The detector's lines, grouped into candidates (:mod:`localise`), are read most
plate-like first, each line cropped a few ways (:data:`VARIANTS`) and recognised once
per way, the readings fitted to the format rules (:mod:`interpret`); the work is bounded
by a :class:`Budget` of line images per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from safecity.vision.plates.image import normalise_contrast
from safecity.vision.plates.interpret import Interpretation, interpret
from safecity.vision.plates.lattice import LineRead
from safecity.vision.plates.localise import Candidate, candidates
from safecity.vision.plates.ocr import Image, TextEngine, crop_quad
from safecity.vision.plates.overlay import is_overlay_text, overlay_zone
from safecity.vision.plates.ranking import GOOD_ENOUGH, decisive, plate_like_first, rank
from safecity.vision.plates.result import GENERIC_RULE, PixelBox, PlateRead
from safecity.vision.plates.rules import FormatRules
from safecity.vision.plates.slot_reads import read_slots
from safecity.vision.plates.slots import SlotRecogniser
from safecity.vision.plates.vehicle import on_vehicle
from safecity.vision.plates.widen import widening

Recogniser = Literal["ppocr", "slots", "slots-first"]
"""Which model reads a plate candidate: PP-OCR's line recogniser, the project's own
whole-plate model (:mod:`slots`), or the own model first with PP-OCR only when it is
not sure (no format rule fits, or its reading's probability is below
:data:`slot_reads.SLOTS_SURE`)."""
RECOGNISERS: tuple[Recogniser, ...] = ("ppocr", "slots", "slots-first")

_ZOOM_HEIGHT = 60.0
_MAX_ZOOM = 4.0


def close_up_scale(plate_height: int) -> float:
    """The detector's scale for a cut-out around a plate ``plate_height`` px high: the
    plate about ``_ZOOM_HEIGHT`` px high, enlarged at most ``_MAX_ZOOM`` times, never
    shrunk. The recogniser reads the lines it finds from the cut-out's own pixels."""
    return min(_MAX_ZOOM, max(1.0, _ZOOM_HEIGHT / max(plate_height, 1)))


@dataclass(frozen=True)
class Variant:
    """One way to crop a line: margins (fractions of its width and height), whether its
    contrast is normalised, and whether it is widened (:mod:`widen`: a line whose
    characters are too narrow for the recogniser is stretched sideways; any other line
    reads as with the plain variant)."""

    pad_x: float
    pad_y: float
    contrast: bool
    widened: bool = False


# Tight crop first; a looser one recovers characters the detector clipped at the ends;
# contrast normalisation helps dark, hazy and low-contrast plates.
VARIANTS = (
    Variant(0.03, 0.08, contrast=False),
    Variant(0.12, 0.12, contrast=False),
    Variant(0.12, 0.12, contrast=True),
)


def widened(variants: Sequence[Variant]) -> tuple[Variant, ...]:
    """The variants' widened copies."""
    return tuple(replace(variant, widened=True) for variant in variants)


class LineCache:
    """Lines as read so far: each line's read per variant, and how much wider the line
    is read by a widened variant (:func:`widen.widening`, from its first plain read)."""

    def __init__(self) -> None:
        self.reads: dict[tuple[int, Variant], LineRead] = {}
        self.widen: dict[int, float] = {}

    def widens(self, candidate: Candidate) -> bool:
        """Whether a widened variant reads any of the candidate's lines differently
        (known once each line has been read plain)."""
        return any(self.widen.get(id(line), 1.0) > 1.0 for line in candidate.lines)


class Budget:
    """Line images one call may still recognise (the recogniser is the costly step)."""

    def __init__(self, reads: int) -> None:
        self.left = reads

    @property
    def spent(self) -> bool:
        return self.left <= 0

    def spend(self) -> None:
        self.left -= 1


def _settled(found: Interpretation | None) -> bool:
    """The candidate needs no other crop: its reading fits a format rule with confidence,
    on one line.

    A registration read over two lines is read from every crop and the best kept: a line
    of two or three characters is a few pixels wide, the tight crop's margin a fraction of
    that, and a rule still fits with an end character lost (MNQ over 7072 read MNO, the O
    left out as the gap of KP's emblem: MN7072 at 0.99 where the looser crop reads MNQ; on
    development renders every change was to the right text or nearer it)."""
    return (
        found is not None
        and found.rule != GENERIC_RULE
        and found.confidence >= GOOD_ENOUGH
        and len(found.lines) < 2
    )


@dataclass(frozen=True)
class CandidateReader:
    """Reads candidates with a reader's models and settings (see
    :class:`reader.PlateReader`, which makes one per call from its own)."""

    engine: TextEngine
    rules: FormatRules
    recogniser: Recogniser
    slots: SlotRecogniser | None
    min_confidence: float
    max_candidates: int

    def read_image(
        self,
        bgr: Image,
        scale: float,
        budget: Budget,
        one_vehicle: bool,
        overlays: list[PixelBox],
        vehicle: PixelBox | None = None,
        *,
        whole_picture: bool = False,
    ) -> list[PlateRead]:
        """The detector's candidates read; with ``vehicle`` (the region is one vehicle's
        box), only those where a plate can sit on it (:func:`vehicle.on_vehicle`): text
        higher up is a route board, a sign or the camera's on-screen name, and reading
        it first would settle the region before its plate is read. ``whole_picture``:
        ``bgr``'s edges are the camera picture's (:func:`overlay.overlay_zone`)."""
        boxes = self.engine.detect(bgr, scale=scale)
        found = candidates(boxes)
        if vehicle is not None:
            found = [c for c in found if on_vehicle(c.bounds(), vehicle.as_tuple())]
        found = found[: self.max_candidates * 2]
        return self.read_candidates(
            bgr,
            found,
            budget,
            stop_when_decisive=one_vehicle,
            overlays=overlays,
            whole_picture=whole_picture,
        )

    def read_candidates(
        self,
        image: Image,
        found: Sequence[Candidate],
        budget: Budget,
        *,
        stop_when_decisive: bool,
        overlays: list[PixelBox],
        whole_picture: bool = False,
    ) -> list[PlateRead]:
        """The candidates' reads, most plausible first; each line found to be a camera's
        date/time stamp adds its block to ``overlays`` and its candidate reads nothing."""
        scored: list[tuple[float, PlateRead]] = []
        cache = LineCache()
        for candidate in plate_like_first(found):
            best = self._read_candidate(image, candidate, cache, budget, overlays, whole_picture)
            if best is None or best.confidence < self.min_confidence:
                if budget.spent:
                    break
                continue
            x, y, w, h = candidate.bounds()
            read = PlateRead(
                text=best.text,
                confidence=round(best.confidence, 4),
                box=PixelBox(max(0, x), max(0, y), w, h),
                lines=best.lines,
                rule=best.rule,
            )
            scored.append((rank(best), read))
            if budget.spent or (stop_when_decisive and decisive([read])):
                break
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
        self,
        image: Image,
        candidate: Candidate,
        cache: LineCache,
        budget: Budget,
        overlays: list[PixelBox],
        whole_picture: bool,
    ) -> Interpretation | None:
        unsure: Interpretation | None = None
        if self.recogniser != "ppocr":
            own, sure = read_slots(self.slots, self.rules, image, candidate)
            if self.recogniser == "slots" or sure:
                return own
            # An unsure own reading is a fallback only: once the own model's confidence
            # could reach a format rule's bonus, its unsure reads outranked PP-OCR's right
            # ones that fit only the generic rule (4 US development photos).
            unsure = own
        best: Interpretation | None = None
        for variant in VARIANTS:
            lines = self.line_reads(image, candidate, variant, cache, budget)
            if lines is None:
                break
            stamps = [
                line.bounds()
                for line, read in zip(candidate.lines, lines, strict=True)
                if is_overlay_text(read.raw)
            ]
            if stamps:
                picture = (image.shape[1], image.shape[0]) if whole_picture else None
                overlays.extend(overlay_zone(stamp, picture) for stamp in stamps)
                return None
            found = interpret(lines, self.rules)
            if found is not None and (best is None or rank(found) > rank(best)):
                best = found
            if _settled(best):
                break
        return best if best is not None else unsure

    def line_reads(
        self,
        image: Image,
        candidate: Candidate,
        variant: Variant,
        cache: LineCache,
        budget: Budget,
    ) -> list[LineRead] | None:
        """The candidate's lines read with ``variant``, each line recognised once; None
        when the budget ran out first. A widened variant reads a line widened only where
        a plain read found its characters too narrow (:func:`widen.widening`); elsewhere
        it is the plain variant's read (the caller skips it where no line widens)."""
        lines = []
        for line in candidate.lines:
            key = (id(line), variant)
            if key not in cache.reads:
                widen = cache.widen.get(id(line), 1.0) if variant.widened else 1.0
                if variant.widened and widen <= 1.0:
                    plain = self.line_reads(
                        image, Candidate((line,)), replace(variant, widened=False), cache, budget
                    )
                    if plain is None:
                        return None
                    lines.append(plain[0])
                    continue
                if budget.spent:
                    return None
                crop = crop_quad(image, line.quad, variant.pad_x, variant.pad_y, widen)
                if crop.size == 0:
                    cache.reads[key] = LineRead(tokens=(), raw="")
                else:
                    if variant.contrast:
                        crop = normalise_contrast(crop)
                    budget.spend()
                    cache.reads[key] = self.engine.recognise([crop])[0]
                    if not variant.widened and id(line) not in cache.widen:
                        read = cache.reads[key]
                        cache.widen[id(line)] = widening(crop.shape[1], crop.shape[0], read)
            lines.append(cache.reads[key])
        return lines
