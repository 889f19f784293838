"""Read the plates in one image: find text lines, group them, read, validate, rank.

:class:`PlateReader` decides which reading paths an image or vehicle region takes and
in what order; the paths live beside it: the own plate locator's (:mod:`located`), the
image-cue regions' (:mod:`cue_reads`), the detector's candidates read and ranked
(:mod:`candidate_reader`, :mod:`ranking`, :mod:`slot_reads`) and a whole image's second
look (:mod:`second_look`); :mod:`image` checks the input.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from safecity.vision.plates.candidate_reader import (
    RECOGNISERS,
    VARIANTS,
    Budget,
    CandidateReader,
    Recogniser,
)
from safecity.vision.plates.cue_reads import read_cues, read_proposals
from safecity.vision.plates.image import MIN_SIDE, as_bgr, whole
from safecity.vision.plates.localise import Candidate
from safecity.vision.plates.located import (
    LOCATOR_USES,
    LocatorUse,
    locate,
    read_located,
    read_located_text,
    with_second_opinion,
)
from safecity.vision.plates.locator import LocatedPlate, PlateLocator
from safecity.vision.plates.ocr import Image, TextBox, TextEngine
from safecity.vision.plates.overlay import inside_overlay
from safecity.vision.plates.ranking import decisive
from safecity.vision.plates.result import PixelBox, PlateRead
from safecity.vision.plates.rules import FormatRules
from safecity.vision.plates.second_look import look_again
from safecity.vision.plates.slot_reads import sure_slot_read
from safecity.vision.plates.slots import SlotRecogniser
from safecity.vision.plates.unsmear import unsmear_plates

_REGION_SIDE = 288
_MAX_REGION_ZOOM = 6.0
_IMAGE_SIDE = 1600


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
    cut out and read by the own whole-plate model. With ``"first"`` the located plates
    also go to PP-OCR, its detector on a small crop around each plate rather than on the
    whole region (``recogniser`` reads the lines it finds); where the own model is sure
    (and its read fits a format rule), both reads of a plate come back if they agree (two
    votes for the track), only the more confident if they differ
    (:func:`located.with_second_opinion`); a region where nothing is located
    takes the usual path; with ``"only"`` the own model's reads are all there is. A
    whole image (no region) never uses the locator, which learnt vehicle regions.
    With ``unsmear``, where the located plates of a vehicle region read as nothing, those
    smeared by motion while the shutter was open are unsmeared (:mod:`unsmear`) and read
    again, only decisive reads kept (it needs the locator, so it is off by default here;
    the analytics workers turn it on, docs/BENCHMARKS.md).

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
        unsmear: bool = False,
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
        if unsmear and locator == "off":
            raise ValueError("unsmear needs the plate locator (locator first or only)")
        self.unsmear = unsmear
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
            if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
                return []
            bgr = np.ascontiguousarray(bgr[y0:y1, x0:x1])
            offset_x, offset_y = x0, y0
        if min(bgr.shape[:2]) < MIN_SIDE:
            return []
        one_vehicle = region is not None
        budget = Budget(self.max_region_line_reads if one_vehicle else self.max_line_reads)
        reader = self._candidate_reader()
        reads: list[PlateRead] = []
        if one_vehicle and self._locator is not None:
            located = locate(self._locator, bgr)
            reads = self._read_located(reader, bgr, located, budget)
            if not reads and located and self.unsmear:
                # A second look only where the plates as seen gave nothing, and only its
                # decisive reads count: unsmearing every located plate read a few more
                # frames right but more wrong ones, and keeping every read of the second
                # look added more false reads than right ones on development renders
                # (docs/BENCHMARKS.md).
                clearer, unsmeared = unsmear_plates(bgr, [box for _, box in located])
                if unsmeared:
                    second = self._read_located(reader, clearer, located, budget)
                    reads = [read for read in second if decisive([read])]
            if self.locator == "first" and located and not reads:
                # The locator is trusted: where its plates hold no text PP-OCR can read,
                # a pass over the whole region finds none either (measured on development
                # renders, docs/BENCHMARKS.md) and would only add its cost.
                return []
        if not reads and one_vehicle and self.cues_first:
            reads = read_cues(reader, bgr, self.cue_regions)
        if not reads and not (one_vehicle and self.locator == "only"):
            overlays: list[PixelBox] = []
            scale = self._scale(bgr, one_vehicle)
            vehicle = whole(bgr) if one_vehicle else None
            reads = reader.read_image(
                bgr, scale, budget, one_vehicle, overlays, vehicle, whole_picture=not one_vehicle
            )
            if self.proposals > 0 and not (one_vehicle and decisive(reads)):
                reads = read_proposals(
                    reader, bgr, reads, budget, one_vehicle, overlays, self.proposals
                )
            reads = [read for read in reads if not inside_overlay(read.box, overlays)]
            if not one_vehicle:
                # The contrast-evened search of the second look is, like the image-cue
                # proposals, a search for a plate the detector passed over: it is off
                # with proposals=0 too.
                reads = look_again(
                    reader, bgr, reads, scale, budget, overlays, search_equalised=self.proposals > 0
                )
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

    def _read_located(
        self,
        reader: CandidateReader,
        bgr: Image,
        located: list[tuple[LocatedPlate, PixelBox]],
        budget: Budget,
    ) -> list[PlateRead]:
        """The located plates of a vehicle region read the way ``locator`` says."""
        reads = read_located(reader, bgr, located)
        if self.locator != "first" or not located:
            return reads
        # PP-OCR reads the located plates even where the own model is sure: the two
        # models err on different characters (a sure PAW62 on every frame where PP-OCR
        # reads PAW82), and where they read one plate differently the more confident was
        # right 19 times in 20 (with_second_opinion). An unsure own read is dropped (as a
        # vote it added more false reads than right ones). Reading the located plate as
        # one line without PP-OCR's text detector costs less but lost vehicles
        # (docs/BENCHMARKS.md).
        own = reads[:1] if sure_slot_read(reads) else []
        return with_second_opinion(
            own[0] if own else None, read_located_text(reader, bgr, located, budget)
        )

    def read_crop(self, crop: npt.NDArray[np.generic]) -> PlateRead | None:
        """Read an image that is already one plate (tight crop, one or more lines)."""
        bgr = as_bgr(crop)
        if min(bgr.shape[:2]) < MIN_SIDE:
            return None
        reads = self.read(bgr)
        if reads:
            return reads[0]
        height, width = bgr.shape[:2]
        outline = TextBox(
            np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
        )
        found = self._candidate_reader().read_candidates(
            bgr,
            [Candidate((outline,))],
            Budget(len(VARIANTS)),
            stop_when_decisive=True,
            overlays=[],
        )
        return found[0] if found else None

    def _scale(self, bgr: Image, one_vehicle: bool) -> float:
        """The detector's scale: a vehicle region to about ``region_side`` (enlarged at most
        ``_MAX_REGION_ZOOM`` times), a whole image shrunk to at most ``image_side``."""
        longest = int(max(bgr.shape[:2]))
        if one_vehicle:
            return min(_MAX_REGION_ZOOM, self.region_side / longest)
        return min(1.0, self.image_side / longest)

    def _candidate_reader(self) -> CandidateReader:
        """The candidate reader of this call, made from the settings as they are now (they
        are plain attributes a caller may change between calls)."""
        return CandidateReader(
            engine=self._engine,
            rules=self.rules,
            recogniser=self.recogniser,
            slots=self._slots,
            min_confidence=self.min_confidence,
            max_candidates=self.max_candidates,
        )
