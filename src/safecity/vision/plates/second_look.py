"""A whole image's second, costlier look where its first reading was not enough.

Nothing read at all: the image searched again with its contrast evened out. A top read
that is not decisive: its surroundings detected and read again several ways, the reads
voting on the registration (:mod:`consensus`). A vehicle region never comes here: it is
read many times per track, and fusion already votes over those reads.
"""

from __future__ import annotations

from safecity.vision.plates.candidate_reader import (
    VARIANTS,
    Budget,
    CandidateReader,
    LineCache,
    Variant,
    widened,
)
from safecity.vision.plates.consensus import consensus
from safecity.vision.plates.image import MIN_SIDE, equalise_image, surroundings
from safecity.vision.plates.interpret import interpret
from safecity.vision.plates.localise import Candidate, candidates
from safecity.vision.plates.ocr import Image
from safecity.vision.plates.overlay import inside_overlay
from safecity.vision.plates.ranking import covers, decisive, plate_like_first
from safecity.vision.plates.result import PixelBox, PlateRead

# A whole image's top read, when it is not decisive, is looked at again (see
# second_look): its surroundings detected again at these scales (the detector then fits
# the line afresh), each line read with every variant of the first look and with no
# margin at all, each variant followed by its widened copy where the line's characters
# are too narrow for the recogniser (:mod:`widen`), within the line reads the call has left.
_SECOND_LOOK_SCALES = (1.0, 1.5, 2.0)
_PLAIN_VARIANTS = (*VARIANTS, Variant(0.0, 0.0, contrast=False))
_SECOND_LOOK_VARIANTS = tuple(
    variant
    for pair in zip(_PLAIN_VARIANTS, widened(_PLAIN_VARIANTS), strict=True)
    for variant in pair
)


def look_again(
    reader: CandidateReader,
    bgr: Image,
    reads: list[PlateRead],
    scale: float,
    budget: Budget,
    overlays: list[PixelBox],
    *,
    search_equalised: bool,
) -> list[PlateRead]:
    """A whole image's reads after a second, costlier look where the first was not
    enough: nothing read at all, the image searched again with its contrast evened out
    (:func:`read_equalised`, only with ``search_equalised``); a top read that is not
    decisive, read again several ways and put to a vote (:func:`second_look`, not for the
    own model alone). Both spend what is left of the call's line reads."""
    if not reads and search_equalised and not budget.spent:
        reads = read_equalised(reader, bgr, scale, budget, overlays)
    unsure = bool(reads) and not decisive(reads[:1])
    if unsure and reader.recogniser != "slots" and not budget.spent:
        looked = second_look(reader, bgr, reads[0], budget)
        reads = [looked, *(read for read in reads[1:] if read.text != looked.text)]
    return reads


def read_equalised(
    reader: CandidateReader, bgr: Image, scale: float, budget: Budget, overlays: list[PixelBox]
) -> list[PlateRead]:
    """A whole image where nothing was read, searched again with its contrast evened
    out (:func:`image.equalise_image`): the detector passes over a plate whose characters
    barely stand out from it (a dark or dirty plate, a hazy or backlit photo) as the
    recogniser misreads one (the contrast variant). The lines it finds are read from
    the image's own pixels."""
    boxes = reader.engine.detect(equalise_image(bgr), scale=scale)
    found = candidates(boxes)[: reader.max_candidates * 2]
    reads = reader.read_candidates(
        bgr, found, budget, stop_when_decisive=False, overlays=overlays, whole_picture=True
    )
    return [read for read in reads if not inside_overlay(read.box, overlays)]


def second_look(reader: CandidateReader, bgr: Image, first: PlateRead, budget: Budget) -> PlateRead:
    """``first`` (a read that is not decisive) read again several ways, and the
    registration most of the reads agree on (:func:`consensus.consensus`).

    PP-OCR reads one plate differently from crop to crop, and where the first read was
    not sure its error is more often one such crop's than the plate's: the plate's
    surroundings (half its width either side, its height above and below) go to the
    detector again at each of ``_SECOND_LOOK_SCALES``, every candidate there that
    covers the first read is read with each of ``_SECOND_LOOK_VARIANTS``, and each
    reading votes, the first read included. The box stays the first read's.

    A line of condensed characters (:mod:`widen`, four or more of them) is read widened
    too, after each plain crop, and those reads vote as well: widened, the recogniser
    resolves characters it merged or confused, but it also reads a plate's frame edge
    as one more character more often, so neither replaces the other (read only widened,
    4 US development photos were gained and 8 lost; both voting, 1 gained, none lost)."""
    cutout = surroundings(bgr, first.box, first.box.w // 2, first.box.h)
    crop = cutout.image
    if min(crop.shape[:2]) < MIN_SIDE:
        return first
    probe = cutout.from_image(first.box)
    reads = [first]
    for scale in _SECOND_LOOK_SCALES:
        found = candidates(reader.engine.detect(crop, scale=scale))
        cache = LineCache()
        for candidate in plate_like_first(found):
            if covers(PixelBox(*candidate.bounds()), probe):
                reads += _votes(reader, crop, candidate, cache, budget, first)
    return consensus(reads)


def _votes(
    reader: CandidateReader,
    crop: Image,
    candidate: Candidate,
    cache: LineCache,
    budget: Budget,
    first: PlateRead,
) -> list[PlateRead]:
    """The candidate's readings, one per second-look variant (a widened one only where
    a line widens; until the budget runs out), that pass as registrations, each with the
    first read's box."""
    votes = []
    for variant in _SECOND_LOOK_VARIANTS:
        if variant.widened and not cache.widens(candidate):
            continue
        lines = reader.line_reads(crop, candidate, variant, cache, budget)
        if lines is None:
            break
        interpretation = interpret(lines, reader.rules)
        if interpretation is None or interpretation.confidence < reader.min_confidence:
            continue
        votes.append(
            PlateRead(
                text=interpretation.text,
                confidence=round(interpretation.confidence, 4),
                box=first.box,
                lines=interpretation.lines,
                rule=interpretation.rule,
            )
        )
    return votes
