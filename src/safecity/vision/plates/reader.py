"""Read the plates in one image: find text lines, group them, read, validate, rank."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

import cv2
import numpy as np
import numpy.typing as npt

from safecity.vision.plates.consensus import consensus
from safecity.vision.plates.interpret import Interpretation, interpret
from safecity.vision.plates.lattice import LineRead
from safecity.vision.plates.localise import Candidate, candidates
from safecity.vision.plates.locator import LocatedPlate, PlateLocator
from safecity.vision.plates.ocr import Image, TextBox, TextEngine, crop_quad
from safecity.vision.plates.overlay import inside_overlay, is_overlay_text, overlay_zone
from safecity.vision.plates.regions import plate_regions
from safecity.vision.plates.result import GENERIC_RULE, PixelBox, PlateRead
from safecity.vision.plates.rules import FormatRules
from safecity.vision.plates.slots import SlotRead, SlotRecogniser
from safecity.vision.plates.vehicle import on_vehicle

_MIN_SIDE = 8
_ZOOM_HEIGHT = 60.0
_MAX_ZOOM = 4.0
_REGION_SIDE = 288
_MAX_REGION_ZOOM = 6.0
_IMAGE_SIDE = 1600
_PLATE_ASPECT = 4.0


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
# A whole image's top read, when it is not decisive, is looked at again (see
# PlateReader._second_look): its surroundings detected again at these scales (the
# detector then fits the line afresh), each line read with every variant above and
# with no margin at all, within the line reads the call has left.
_SECOND_LOOK_SCALES = (1.0, 1.5, 2.0)
_SECOND_LOOK_VARIANTS = (*_VARIANTS, _Variant(0.0, 0.0, contrast=False))

Recogniser = Literal["ppocr", "slots", "slots-first"]
"""Which model reads a plate candidate: PP-OCR's line recogniser, the project's own
whole-plate model (:mod:`slots`), or the own model first with PP-OCR only when it is
not sure (no format rule fits, or its reading's probability is below ``_SLOTS_SURE``)."""
RECOGNISERS: tuple[Recogniser, ...] = ("ppocr", "slots", "slots-first")
_SLOTS_SURE = 0.8
LocatorUse = Literal["off", "first", "only"]
"""How a vehicle region uses the own plate locator (:mod:`locator`): not at all; first
(its located plates read by the own model, then, where that is not sure, by PP-OCR on a
small crop around each located plate; the whole region the usual way only when nothing
is located); or only (the own model reads the located plates; no PP-OCR at all)."""
LOCATOR_USES: tuple[LocatorUse, ...] = ("off", "first", "only")
# A candidate's box as the whole-plate model is given it: a text detector's lines hug
# the characters, the model was trained on boxes around the whole plate, loose or tight.
_SLOT_PADS = ((0.06, 0.15), (0.12, 0.45))
# A located plate's quad is the whole plate already: margins kept inside the range the
# model was trained on (up to 18 % of the width, 30 % of the height outside). On
# development renders: 10 vehicles read exactly, 18 wrongly, against 8 and 20 with the
# text-line margins above (docs/BENCHMARKS.md).
_LOCATED_PADS = ((0.06, 0.15), (0.12, 0.30))


class PlateReader:
    """Finds and reads registration plates; the OCR models load on the first read.

    ``rules`` decides which texts count as registrations (Pakistan by default).
    ``max_candidates`` bounds the plates returned per image; ``proposals`` how many
    plate-like regions found by image cues (:mod:`regions`) the detector passed over
    are enlarged and read again (small, distant plates; with ``proposals=0`` a whole image
    where nothing was read is not searched again with its contrast evened out either);
    ``threads`` the ONNX Runtime
    threads per call (default 1; 0: ONNX Runtime's default, every core).

    The work per call is bounded: the detector sees a vehicle region scaled to about
    ``region_side`` pixels and a whole image to at most ``image_side`` (the
    recogniser still reads each line from the full-resolution pixels), at most
    ``max_line_reads`` line images are recognised (``max_region_line_reads`` in a
    vehicle region, read many times per track), and a vehicle region stops at its
    first confident read that fits a format rule (a vehicle carries one plate). A whole
    image gets a second look, within the same line reads, where the first was not
    enough: when nothing was read, a detector pass over the image with its contrast
    evened out; when the top read is not decisive, its surroundings detected and read
    again several ways, the reads voting on the registration (:mod:`consensus`).

    ``recogniser`` picks the model that reads a candidate (:data:`Recogniser`);
    ``slot_model`` is the own model to use (default: the one shipped in the package);
    ``cues_first`` reads a vehicle region's image-cue regions with the own model before
    running the detector, which then runs only if that read is not sure.

    ``locator`` (:data:`LocatorUse`) makes a vehicle region go first through the own
    plate locator (``plate_locator``, default the shipped model): each located plate is
    cut out and read by the own whole-plate model; a sure read that fits a format rule
    is the region's read. With ``"first"`` an unsure read sends the located plates to
    PP-OCR instead, its detector on a small crop around each plate rather than on the
    whole region (``recogniser`` reads the lines it finds), and a region where nothing
    is located takes the usual path; with ``"only"`` the own model's reads are all there
    is. A whole image (no region) never uses the locator, which learnt vehicle regions.

    One instance may be shared by several threads (camera pipelines in one process):
    it holds no per-call state, and ONNX Runtime runs concurrent calls on the same
    sessions. Give it ``threads=1`` and let the pipelines' threads supply the
    parallelism.
    """

    def __init__(
        self,
        rules: FormatRules | None = None,
        *,
        max_candidates: int = 24,
        min_confidence: float = 0.5,
        threads: int = 1,
        proposals: int = 2,
        engine: TextEngine | None = None,
        region_side: int = _REGION_SIDE,
        image_side: int = _IMAGE_SIDE,
        max_line_reads: int = 24,
        max_region_line_reads: int = 12,
        recogniser: Recogniser = "ppocr",
        slot_model: SlotRecogniser | None = None,
        cues_first: bool = False,
        locator: LocatorUse = "off",
        plate_locator: PlateLocator | None = None,
    ) -> None:
        if region_side < 32 or image_side < 32:
            raise ValueError("region_side and image_side must be at least 32 pixels")
        if min(max_line_reads, max_region_line_reads) < 1:
            raise ValueError(
                "max_line_reads and max_region_line_reads must be at least 1, got "
                f"{max_line_reads} and {max_region_line_reads}"
            )
        self.rules = rules if rules is not None else FormatRules.default()
        self.max_candidates = max_candidates
        self.min_confidence = min_confidence
        self.proposals = proposals
        self.region_side = region_side
        self.image_side = image_side
        self.max_line_reads = max_line_reads
        self.max_region_line_reads = max_region_line_reads
        if recogniser not in RECOGNISERS:
            raise ValueError(f"recogniser must be one of {RECOGNISERS}, got {recogniser!r}")
        self._engine = engine if engine is not None else TextEngine(threads=threads)
        self.recogniser: Recogniser = recogniser
        if cues_first and recogniser == "ppocr":
            raise ValueError("cues_first needs the own plate model (recogniser other than ppocr)")
        self.cues_first = cues_first
        self.cue_regions = 3
        if locator not in LOCATOR_USES:
            raise ValueError(f"locator must be one of {LOCATOR_USES}, got {locator!r}")
        self.locator: LocatorUse = locator
        needs_slots = recogniser != "ppocr" or locator != "off"
        self._slots = (
            None
            if not needs_slots
            else slot_model
            if slot_model is not None
            else SlotRecogniser(threads=threads)
        )
        self._locator = (
            None
            if locator == "off"
            else plate_locator
            if plate_locator is not None
            else PlateLocator(threads=threads)
        )

    def warm_up(self) -> None:
        """Load the OCR models now rather than on the first read."""
        if self.locator != "only":
            self._engine.warm_up()
        if self._slots is not None:
            self._slots.warm_up()
        if self._locator is not None:
            self._locator.warm_up()

    def read(
        self, image: npt.NDArray[np.generic], region: tuple[int, int, int, int] | None = None
    ) -> list[PlateRead]:
        """Plates in ``image`` (BGR or grey uint8), most plausible first.

        ``region`` (x, y, w, h), e.g. a vehicle detector's box, restricts the search
        to one vehicle; boxes in the results are always in the pixels of ``image``.
        An empty image or region gives no reads; a non-image raises
        :class:`InvalidImage`.
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
        one_vehicle = region is not None
        budget = _Budget(self.max_region_line_reads if one_vehicle else self.max_line_reads)
        reads: list[PlateRead] = []
        if one_vehicle and self._locator is not None:
            located = self._locate(bgr)
            reads = self._read_located(bgr, located)
            if self.locator == "first" and located and not _sure_slot_read(reads):
                # The locator is trusted: where its plates hold no text PP-OCR can read,
                # a pass over the whole region finds none either (measured on development
                # renders, docs/BENCHMARKS.md) and would only add its cost.
                reads = self._read_located_text(bgr, located, budget)
                if not reads:
                    return []
        if not reads and one_vehicle and self.cues_first:
            reads = self._read_cues(bgr)
        if not reads and not (one_vehicle and self.locator == "only"):
            overlays: list[PixelBox] = []
            scale = self._scale(bgr, one_vehicle)
            vehicle = _whole(bgr) if one_vehicle else None
            reads = self._read_image(bgr, scale, budget, one_vehicle, overlays, vehicle)
            if self.proposals > 0 and not (one_vehicle and _decisive(reads)):
                reads = self._read_proposals(bgr, reads, budget, one_vehicle, overlays)
            reads = [read for read in reads if not inside_overlay(read.box, overlays)]
            if not one_vehicle:
                reads = self._look_again(bgr, reads, scale, budget, overlays)
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

    def _scale(self, bgr: Image, one_vehicle: bool) -> float:
        """The detector's scale: a vehicle region to about ``region_side`` (enlarged at most
        ``_MAX_REGION_ZOOM`` times), a whole image shrunk to at most ``image_side``."""
        longest = int(max(bgr.shape[:2]))
        if one_vehicle:
            return min(_MAX_REGION_ZOOM, self.region_side / longest)
        return min(1.0, self.image_side / longest)

    def _read_image(
        self,
        bgr: Image,
        scale: float,
        budget: _Budget,
        one_vehicle: bool,
        overlays: list[PixelBox],
        vehicle: PixelBox | None = None,
    ) -> list[PlateRead]:
        """The detector's candidates read; with ``vehicle`` (the region is one vehicle's
        box), only those where a plate can sit on it (:func:`vehicle.on_vehicle`): text
        higher up is a route board, a sign or the camera's on-screen name, and reading
        it first would settle the region before its plate is read."""
        boxes = self._engine.detect(bgr, scale=scale)
        found = candidates(boxes)
        if vehicle is not None:
            found = [c for c in found if on_vehicle(c.bounds(), vehicle.as_tuple())]
        found = found[: self.max_candidates * 2]
        return self._read_candidates(
            bgr, found, budget, stop_when_decisive=one_vehicle, overlays=overlays
        )

    def _read_proposals(
        self,
        bgr: Image,
        reads: list[PlateRead],
        budget: _Budget,
        one_vehicle: bool,
        overlays: list[PixelBox],
    ) -> list[PlateRead]:
        """Enlarge plate-like regions the detector passed over and read them again."""
        added: list[PlateRead] = []
        height, width = bgr.shape[:2]
        for x, y, w, h in plate_regions(bgr, limit=self.proposals):
            if budget.spent:
                break
            probe = PixelBox(x, y, w, h)
            if any(_covers(read.box, probe) for read in reads + added):
                continue
            if one_vehicle and not on_vehicle(probe.as_tuple(), _whole(bgr).as_tuple()):
                continue
            if inside_overlay(probe, overlays):
                continue
            x0, y0 = max(0, x - w // 2), max(0, y - h)
            x1, y1 = min(width, x + w + w // 2), min(height, y + 2 * h)
            crop = np.ascontiguousarray(bgr[y0:y1, x0:x1])
            # The detector sees the proposal with its plate about _ZOOM_HEIGHT px high;
            # the recogniser reads the lines it finds from the crop's own pixels.
            scale = min(_MAX_ZOOM, max(1.0, _ZOOM_HEIGHT / max(h, 1)))
            stamps: list[PixelBox] = []
            found = self._read_image(crop, scale, budget, one_vehicle, stamps)
            overlays.extend(PixelBox(x0 + z.x, y0 + z.y, z.w, z.h) for z in stamps)
            if found:
                read = found[0]
                bx, by, bw, bh = read.box.as_tuple()
                box = PixelBox(x0 + bx, y0 + by, bw, bh)
                added.append(PlateRead(read.text, read.confidence, box, read.lines, read.rule))
                if one_vehicle and _decisive(added):
                    break
        # The detector's own reads rank first: a proposal only adds what it passed over.
        return reads + [read for read in added if all(read.text != r.text for r in reads)]

    def _look_again(
        self,
        bgr: Image,
        reads: list[PlateRead],
        scale: float,
        budget: _Budget,
        overlays: list[PixelBox],
    ) -> list[PlateRead]:
        """A whole image's reads after a second, costlier look where the first was not
        enough: nothing read at all, the image searched again with its contrast evened out
        (:meth:`_read_equalised`); a top read that is not decisive, read again several ways
        and put to a vote (:meth:`_second_look`, not for the own model alone). A vehicle
        region never comes here: it is read many times per track, and fusion already
        votes over those reads. Both spend what is left of the call's line reads; the
        contrast-evened pass is a search for a plate the detector passed over, so, like the
        image-cue proposals, it is off with ``proposals=0``."""
        if not reads and self.proposals > 0 and not budget.spent:
            reads = self._read_equalised(bgr, scale, budget, overlays)
        unsure = bool(reads) and not _decisive(reads[:1])
        if unsure and self.recogniser != "slots" and not budget.spent:
            looked = self._second_look(bgr, reads[0], budget)
            reads = [looked, *(read for read in reads[1:] if read.text != looked.text)]
        return reads

    def _read_equalised(
        self, bgr: Image, scale: float, budget: _Budget, overlays: list[PixelBox]
    ) -> list[PlateRead]:
        """A whole image where nothing was read, searched again with its contrast evened
        out (:func:`equalise_image`): the detector passes over a plate whose characters
        barely stand out from it (a dark or dirty plate, a hazy or backlit photo) as the
        recogniser misreads one (the contrast variant). The lines it finds are read from
        the image's own pixels."""
        boxes = self._engine.detect(equalise_image(bgr), scale=scale)
        found = candidates(boxes)[: self.max_candidates * 2]
        reads = self._read_candidates(
            bgr, found, budget, stop_when_decisive=False, overlays=overlays
        )
        return [read for read in reads if not inside_overlay(read.box, overlays)]

    def _second_look(self, bgr: Image, first: PlateRead, budget: _Budget) -> PlateRead:
        """``first`` (a read that is not decisive) read again several ways, and the
        registration most of the reads agree on (:func:`consensus.consensus`).

        PP-OCR reads one plate differently from crop to crop, and where the first read was
        not sure its error is more often one such crop's than the plate's: the plate's
        surroundings (half its width either side, its height above and below) go to the
        detector again at each of ``_SECOND_LOOK_SCALES``, every candidate there that
        covers the first read is read with each of ``_SECOND_LOOK_VARIANTS``, and each
        reading votes, the first read included. The box stays the first read's."""
        height, width = bgr.shape[:2]
        x, y, w, h = first.box.as_tuple()
        x0, y0 = max(0, x - w // 2), max(0, y - h)
        x1, y1 = min(width, x + w + w // 2), min(height, y + 2 * h)
        crop = np.ascontiguousarray(bgr[y0:y1, x0:x1])
        if min(crop.shape[:2]) < _MIN_SIDE:
            return first
        probe = PixelBox(x - x0, y - y0, w, h)
        reads = [first]
        for scale in _SECOND_LOOK_SCALES:
            found = candidates(self._engine.detect(crop, scale=scale))
            cache: dict[tuple[int, int], LineRead] = {}
            for candidate in _plate_like_first(found):
                if not _covers(PixelBox(*candidate.bounds()), probe):
                    continue
                for index, variant in enumerate(_SECOND_LOOK_VARIANTS):
                    lines = self._line_reads(crop, candidate, index, variant, cache, budget)
                    if lines is None:
                        break
                    interpretation = interpret(lines, self.rules)
                    if interpretation is None:
                        continue
                    if interpretation.confidence < self.min_confidence:
                        continue
                    reads.append(
                        PlateRead(
                            text=interpretation.text,
                            confidence=round(interpretation.confidence, 4),
                            box=first.box,
                            lines=interpretation.lines,
                            rule=interpretation.rule,
                        )
                    )
        return consensus(reads)

    def _line_reads(
        self,
        image: Image,
        candidate: Candidate,
        index: int,
        variant: _Variant,
        cache: dict[tuple[int, int], LineRead],
        budget: _Budget,
    ) -> list[LineRead] | None:
        """The candidate's lines read with ``variant`` (number ``index``, the cache key),
        each line recognised once; None when the budget ran out first."""
        lines = []
        for line in candidate.lines:
            key = (id(line), index)
            if key not in cache:
                if budget.spent:
                    return None
                crop = crop_quad(image, line.quad, variant.pad_x, variant.pad_y)
                if crop.size == 0:
                    cache[key] = LineRead(tokens=(), raw="")
                else:
                    if variant.contrast:
                        crop = normalise_contrast(crop)
                    budget.spend()
                    cache[key] = self._engine.recognise([crop])[0]
            lines.append(cache[key])
        return lines

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
        found = self._read_candidates(
            bgr,
            [Candidate((whole,))],
            _Budget(len(_VARIANTS)),
            stop_when_decisive=True,
            overlays=[],
        )
        return found[0] if found else None

    def _read_candidates(
        self,
        image: Image,
        found: Sequence[Candidate],
        budget: _Budget,
        *,
        stop_when_decisive: bool,
        overlays: list[PixelBox],
    ) -> list[PlateRead]:
        """The candidates' reads, most plausible first; each line found to be a camera's
        date/time stamp adds its block to ``overlays`` and its candidate reads nothing."""
        scored: list[tuple[float, PlateRead]] = []
        cache: dict[tuple[int, int], LineRead] = {}
        for candidate in _plate_like_first(found):
            best = self._read_candidate(image, candidate, cache, budget, overlays)
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
            scored.append((_rank(best), read))
            if budget.spent or (stop_when_decisive and _decisive([read])):
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
        cache: dict[tuple[int, int], LineRead],
        budget: _Budget,
        overlays: list[PixelBox],
    ) -> Interpretation | None:
        unsure: Interpretation | None = None
        if self.recogniser != "ppocr":
            own, sure = self._read_slots(image, candidate)
            if self.recogniser == "slots" or sure:
                return own
            # An unsure own reading is a fallback only: once the own model's confidence
            # could reach a format rule's bonus, its unsure reads outranked PP-OCR's right
            # ones that fit only the generic rule (4 US development photos).
            unsure = own
        best: Interpretation | None = None
        for index, variant in enumerate(_VARIANTS):
            lines = self._line_reads(image, candidate, index, variant, cache, budget)
            if lines is None:
                break
            stamps = [
                line.bounds()
                for line, read in zip(candidate.lines, lines, strict=True)
                if is_overlay_text(read.raw)
            ]
            if stamps:
                overlays.extend(overlay_zone(stamp) for stamp in stamps)
                return None
            found = interpret(lines, self.rules)
            if found is not None and (best is None or _rank(found) > _rank(best)):
                best = found
            if best is not None and best.rule != GENERIC_RULE and best.confidence >= _GOOD_ENOUGH:
                break
        return best if best is not None else unsure

    def _read_cues(self, bgr: Image) -> list[PlateRead]:
        """A vehicle region read without the text detector: the plate-like regions found
        by image cues (:mod:`regions`), each read by the own model; kept only when the model
        is sure and a format rule fits, else the caller runs the detector."""
        if self._slots is None:
            return []
        height, width = bgr.shape[:2]
        for x, y, w, h in plate_regions(bgr, limit=self.cue_regions):
            quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32)
            found, sure = self._read_slots(bgr, Candidate((TextBox(quad),)))
            if found is not None and sure and found.confidence >= self.min_confidence:
                box = PixelBox(max(0, x), max(0, y), min(w, width - x), min(h, height - y))
                return [
                    PlateRead(found.text, round(found.confidence, 4), box, found.lines, found.rule)
                ]
        return []

    def _locate(self, bgr: Image) -> list[tuple[LocatedPlate, PixelBox]]:
        """The plates the own locator finds in a vehicle region, most certain first, with
        their boxes cut to the region; only those where a plate can sit on a vehicle."""
        if self._locator is None:
            return []
        vehicle = _whole(bgr).as_tuple()
        found = []
        for plate in self._locator.locate(bgr):
            box = _clipped(plate.box, bgr)
            if box is not None and on_vehicle(box.as_tuple(), vehicle):
                found.append((plate, box))
        return found

    def _read_located(
        self, bgr: Image, located: list[tuple[LocatedPlate, PixelBox]]
    ) -> list[PlateRead]:
        """The located plates, each read by the own model; most plausible first, reads the
        model is not sure of marked by a confidence below ``_SLOTS_SURE`` or the generic
        rule (see :func:`_sure_slot_read`)."""
        scored: list[tuple[float, PlateRead]] = []
        for plate, box in located:
            found, _ = self._read_slots(bgr, Candidate((TextBox(plate.quad),)), _LOCATED_PADS)
            if found is None or found.confidence < self.min_confidence:
                continue
            read = PlateRead(found.text, round(found.confidence, 4), box, found.lines, found.rule)
            scored.append((_rank(found), read))
        scored.sort(key=lambda item: -item[0])
        return [read for _, read in scored]

    def _read_located_text(
        self, bgr: Image, located: list[tuple[LocatedPlate, PixelBox]], budget: _Budget
    ) -> list[PlateRead]:
        """The located plates (the two most certain) read the PP-OCR way, but with the text
        detector run on a small crop around each plate (enlarged to about ``_ZOOM_HEIGHT``
        px a plate) in place of the whole region. Stops at the first decisive read."""
        height, width = bgr.shape[:2]
        reads: list[PlateRead] = []
        for _, box in located[:2]:
            if budget.spent:
                break
            x, y, w, h = box.as_tuple()
            x0, y0 = max(0, x - w // 4), max(0, y - h // 2)
            x1, y1 = min(width, x + w + w // 4), min(height, y + h + h // 2)
            crop = np.ascontiguousarray(bgr[y0:y1, x0:x1])
            if min(crop.shape[:2]) < _MIN_SIDE:
                continue
            scale = min(_MAX_ZOOM, max(1.0, _ZOOM_HEIGHT / max(h, 1)))
            for read in self._read_image(crop, scale, budget, True, []):
                bx, by, bw, bh = read.box.as_tuple()
                moved = PixelBox(x0 + bx, y0 + by, bw, bh)
                reads.append(PlateRead(read.text, read.confidence, moved, read.lines, read.rule))
            if _decisive(reads):
                break
        return sorted(reads, key=lambda read: not _decisive([read]))

    def _read_slots(
        self,
        image: Image,
        candidate: Candidate,
        pads: tuple[tuple[float, float], ...] = _SLOT_PADS,
    ) -> tuple[Interpretation | None, bool]:
        """The whole-plate model's reading of the candidate (best of a tight and a loose
        box, grown by ``pads``), and whether it is sure enough to skip PP-OCR."""
        if self._slots is None:
            return None, False
        quad = _candidate_quad(candidate)
        crops = [crop_quad(image, quad, pad_x, pad_y) for pad_x, pad_y in pads]
        crops = [crop for crop in crops if min(crop.shape[:2]) >= 2]
        best: tuple[float, Interpretation, SlotRead] | None = None
        for read in self._slots.read(crops):
            found = interpret([read.line], self.rules) if read.line.tokens else None
            if found is None:
                continue
            score = _rank(found) + read.confidence
            if best is None or score > best[0]:
                best = (score, found, read)
        if best is None:
            return None, False
        _, found, read = best
        sure = found.rule != GENERIC_RULE and read.confidence >= _SLOTS_SURE
        return found, sure


class _Budget:
    """Line images one call may still recognise (the recogniser is the costly step)."""

    def __init__(self, reads: int) -> None:
        self.left = reads

    @property
    def spent(self) -> bool:
        return self.left <= 0

    def spend(self) -> None:
        self.left -= 1


def _sure_slot_read(reads: Sequence[PlateRead]) -> bool:
    """The own model's best read of a region fits a format rule and the model was sure."""
    return bool(reads) and reads[0].rule != GENERIC_RULE and reads[0].confidence >= _SLOTS_SURE


def _clipped(box: PixelBox, image: Image) -> PixelBox | None:
    """``box`` cut to the image; None when less than 2 pixels of it remain either way."""
    x0, y0 = max(box.x, 0), max(box.y, 0)
    x1 = min(box.x + box.w, int(image.shape[1]))
    y1 = min(box.y + box.h, int(image.shape[0]))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return PixelBox(x0, y0, x1 - x0, y1 - y0)


def _whole(image: Image) -> PixelBox:
    """The whole image as a box: a vehicle region's own box in its crop's pixels."""
    return PixelBox(0, 0, int(image.shape[1]), int(image.shape[0]))


def _decisive(reads: Sequence[PlateRead]) -> bool:
    """A read that settles a vehicle: it fits a format rule and the recogniser was sure."""
    return any(read.rule != GENERIC_RULE and read.confidence >= _GOOD_ENOUGH for read in reads)


def _plate_like_first(found: Sequence[Candidate]) -> list[Candidate]:
    """Candidates most like a plate first: stacks of lines (their reads cover their single
    lines too), then lines by how close their shape is to a plate's, larger first."""

    def key(candidate: Candidate) -> tuple[int, float]:
        _, _, w, h = candidate.bounds()
        aspect = w / max(h, 1)
        shape = abs(np.log(max(aspect, 0.1) / _PLATE_ASPECT))
        return (-len(candidate.lines), shape - 0.002 * h)

    return sorted(found, key=key)


def _candidate_quad(candidate: Candidate) -> npt.NDArray[np.float32]:
    """One quadrilateral around all of a candidate's lines: the top line's upper edge
    and the bottom line's lower edge."""
    top, bottom = candidate.lines[0].quad, candidate.lines[-1].quad
    left = min(float(top[0][0]), float(bottom[3][0]))
    right = max(float(top[1][0]), float(bottom[2][0]))
    return np.array(
        [[left, top[0][1]], [right, top[1][1]], [right, bottom[2][1]], [left, bottom[3][1]]],
        dtype=np.float32,
    )


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


def equalise_image(bgr: Image) -> Image:
    """The image with its lightness contrast-limited and equalised in 8 x 8 tiles (colour
    kept): local contrast raised where it is low, so faint text stands out."""
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    lab[:, :, 0] = clahe.apply(np.ascontiguousarray(lab[:, :, 0]))
    return cast(Image, cv2.cvtColor(lab, cv2.COLOR_LAB2BGR))


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
