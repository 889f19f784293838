"""A vehicle region read through the project's own plate locator (:mod:`locator`): the
plates it finds, read by the own whole-plate model and by PP-OCR on a small crop around
each plate, the two reads of one plate combined (:func:`with_second_opinion`)."""

from __future__ import annotations

from typing import Literal

from safecity.vision.plates.candidate_reader import Budget, CandidateReader, close_up_scale
from safecity.vision.plates.image import MIN_SIDE, surroundings, whole
from safecity.vision.plates.localise import Candidate
from safecity.vision.plates.locator import LocatedPlate, PlateLocator
from safecity.vision.plates.ocr import Image, TextBox
from safecity.vision.plates.ranking import decisive, rank
from safecity.vision.plates.result import PixelBox, PlateRead
from safecity.vision.plates.slot_reads import read_slots
from safecity.vision.plates.vehicle import on_vehicle

LocatorUse = Literal["off", "first", "only"]
"""How a vehicle region uses the own plate locator (:mod:`locator`): not at all; first
(its located plates read by PP-OCR on a small crop around each, and by the own model,
whose read counts where it is sure; the whole region the usual way only when nothing
is located); or only (the own model reads the located plates; no PP-OCR at all)."""
LOCATOR_USES: tuple[LocatorUse, ...] = ("off", "first", "only")
# A located plate's quad is the whole plate already: margins kept inside the range the
# model was trained on (up to 18 % of the width, 30 % of the height outside). On
# development renders: 10 vehicles read exactly, 18 wrongly, against 8 and 20 with the
# text-line margins of slot_reads.SLOT_PADS (docs/BENCHMARKS.md).
_LOCATED_PADS = ((0.06, 0.15), (0.12, 0.30))


def locate(locator: PlateLocator, bgr: Image) -> list[tuple[LocatedPlate, PixelBox]]:
    """The plates the own locator finds in a vehicle region, most certain first, with
    their boxes cut to the region; only those where a plate can sit on a vehicle."""
    vehicle = whole(bgr).as_tuple()
    found = []
    for plate in locator.locate(bgr):
        box = _clipped(plate.box, bgr)
        if box is not None and on_vehicle(box.as_tuple(), vehicle):
            found.append((plate, box))
    return found


def read_located(
    reader: CandidateReader, bgr: Image, located: list[tuple[LocatedPlate, PixelBox]]
) -> list[PlateRead]:
    """The located plates, each read by the own model; most plausible first, reads the
    model is not sure of marked by a confidence below :data:`slot_reads.SLOTS_SURE` or the
    generic rule (see :func:`slot_reads.sure_slot_read`)."""
    scored: list[tuple[float, PlateRead]] = []
    for plate, box in located:
        candidate = Candidate((TextBox(plate.quad),))
        found, _ = read_slots(reader.slots, reader.rules, bgr, candidate, _LOCATED_PADS)
        if found is None or found.confidence < reader.min_confidence:
            continue
        read = PlateRead(found.text, round(found.confidence, 4), box, found.lines, found.rule)
        scored.append((rank(found), read))
    scored.sort(key=lambda item: -item[0])
    return [read for _, read in scored]


def read_located_text(
    reader: CandidateReader,
    bgr: Image,
    located: list[tuple[LocatedPlate, PixelBox]],
    budget: Budget,
) -> list[PlateRead]:
    """The located plates (the two most certain) read the PP-OCR way, but with the text
    detector run on a small crop around each plate (enlarged by
    :func:`candidate_reader.close_up_scale`) in place of the whole region. Stops at the
    first decisive read."""
    reads: list[PlateRead] = []
    for _, box in located[:2]:
        if budget.spent:
            break
        cutout = surroundings(bgr, box, box.w // 4, box.h // 2)
        if min(cutout.image.shape[:2]) < MIN_SIDE:
            continue
        scale = close_up_scale(box.h)
        for read in reader.read_image(cutout.image, scale, budget, True, []):
            moved = cutout.to_image(read.box)
            reads.append(PlateRead(read.text, read.confidence, moved, read.lines, read.rule))
        if decisive(reads):
            break
    return sorted(reads, key=lambda read: not decisive([read]))


def _clipped(box: PixelBox, image: Image) -> PixelBox | None:
    """``box`` cut to the image; None when less than 2 pixels of it remain either way."""
    x0, y0 = max(box.x, 0), max(box.y, 0)
    x1 = min(box.x + box.w, int(image.shape[1]))
    y1 = min(box.y + box.h, int(image.shape[0]))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return PixelBox(x0, y0, x1 - x0, y1 - y0)


def with_second_opinion(own: PlateRead | None, text_reads: list[PlateRead]) -> list[PlateRead]:
    """The own model's sure read of a located plate and PP-OCR's reads of the located
    plates, as one region's reads: both where they agree (or PP-OCR read another plate),
    the more confident alone where they read the same plate differently.

    The two models err on different characters, and on development renders the more
    confident was the right one in 19 of 20 such disagreements (a sure own 0.84 PAW62
    against PP-OCR's 0.99 PAW82; a sure own 0.92 PM574 against PP-OCR's 0.52 PT74);
    kept both, the wrong one's votes carried into the track's fusion. PP-OCR may read
    one plate more than once (the locator can find a wide plate twice): its most
    confident read there competes, and of its reads of that plate only those of the
    winning text are kept."""
    if own is None:
        return text_reads
    x, y, w, h = own.box.as_tuple()
    on_plate = {
        id(read)
        for read in text_reads
        if x <= read.box.centre[0] <= x + w and y <= read.box.centre[1] <= y + h
    }
    rival = max(
        (read for read in text_reads if id(read) in on_plate),
        key=lambda read: read.confidence,
        default=None,
    )
    winner = own if rival is None or own.confidence >= rival.confidence else rival
    kept = [read for read in text_reads if id(read) not in on_plate or read.text == winner.text]
    return [own, *kept] if winner.text == own.text else kept
