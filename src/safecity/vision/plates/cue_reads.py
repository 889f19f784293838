"""Plate-like regions found by image cues (:mod:`regions`) read where the text detector
alone is not enough: proposals the detector passed over, enlarged and read again, and
(``cues_first``) a vehicle region's regions read by the own model before any detector."""

from __future__ import annotations

import numpy as np

from safecity.vision.plates.candidate_reader import Budget, CandidateReader, close_up_scale
from safecity.vision.plates.image import surroundings, whole
from safecity.vision.plates.localise import Candidate
from safecity.vision.plates.ocr import Image, TextBox
from safecity.vision.plates.overlay import inside_overlay
from safecity.vision.plates.ranking import covers, decisive
from safecity.vision.plates.regions import plate_regions
from safecity.vision.plates.result import PixelBox, PlateRead
from safecity.vision.plates.slot_reads import read_slots
from safecity.vision.plates.vehicle import on_vehicle


def read_proposals(
    reader: CandidateReader,
    bgr: Image,
    reads: list[PlateRead],
    budget: Budget,
    one_vehicle: bool,
    overlays: list[PixelBox],
    limit: int,
) -> list[PlateRead]:
    """Enlarge plate-like regions the detector passed over (at most ``limit``) and read
    them again; ``reads`` (the detector's) first, then what the proposals add."""
    added: list[PlateRead] = []
    for x, y, w, h in plate_regions(bgr, limit=limit):
        if budget.spent:
            break
        probe = PixelBox(x, y, w, h)
        if any(covers(read.box, probe) for read in reads + added):
            continue
        if one_vehicle and not on_vehicle(probe.as_tuple(), whole(bgr).as_tuple()):
            continue
        if inside_overlay(probe, overlays):
            continue
        cutout = surroundings(bgr, probe, w // 2, h)
        stamps: list[PixelBox] = []
        found = reader.read_image(cutout.image, close_up_scale(h), budget, one_vehicle, stamps)
        overlays.extend(cutout.to_image(stamp) for stamp in stamps)
        if found:
            read = found[0]
            box = cutout.to_image(read.box)
            added.append(PlateRead(read.text, read.confidence, box, read.lines, read.rule))
            if one_vehicle and decisive(added):
                break
    # The detector's own reads rank first: a proposal only adds what it passed over.
    return reads + [read for read in added if all(read.text != r.text for r in reads)]


def read_cues(reader: CandidateReader, bgr: Image, limit: int) -> list[PlateRead]:
    """A vehicle region read without the text detector: the plate-like regions found
    by image cues (at most ``limit``), each read by the own model; kept only when the
    model is sure and a format rule fits, else the caller runs the detector."""
    if reader.slots is None:
        return []
    height, width = bgr.shape[:2]
    for x, y, w, h in plate_regions(bgr, limit=limit):
        quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32)
        found, sure = read_slots(reader.slots, reader.rules, bgr, Candidate((TextBox(quad),)))
        if found is not None and sure and found.confidence >= reader.min_confidence:
            box = PixelBox(max(0, x), max(0, y), min(w, width - x), min(h, height - y))
            return [PlateRead(found.text, round(found.confidence, 4), box, found.lines, found.rule)]
    return []
