"""One plate read several ways, one answer: the registration most of the reads agree on.

PP-OCR's recogniser reads the same plate differently from one crop to the next (a
margin more or less, the detector's line found at another scale, contrast evened
out): a character at the plate's edge is dropped or doubled, a G becomes a 6. Each
of those reads is an independent look at the same characters, so, as over the
frames of a video track (:mod:`fusion`), the registration that most reads agree on
is more often right than any single read, however confident. Unlike a track's
fusion the vote is over whole registrations, not characters: the reads come from
crops of one plate that differ in where the line starts and ends, so their
characters do not line up position by position.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from safecity.vision.plates.result import GENERIC_RULE, PlateRead

FORMAT_WEIGHT = 0.3
"""What fitting a specific format rule adds to a read's vote (the reader ranks reads the
same way): a read that fits a format is likelier the number than one that only passes as
a generic registration."""


def vote_weight(read: PlateRead) -> float:
    """A read's say in the vote: its confidence, more when it fits a format rule."""
    return read.confidence + (FORMAT_WEIGHT if read.rule != GENERIC_RULE else 0.0)


def consensus(reads: Sequence[PlateRead]) -> PlateRead:
    """The registration with the largest summed :func:`vote_weight` among ``reads`` (all
    of one plate), reported as its most confident read with the first read's box.

    A tie goes to the registration whose best single read weighs most, then to the one
    read first. Raises ValueError for no reads.
    """
    if not reads:
        raise ValueError("consensus needs at least one read")
    totals: dict[str, float] = defaultdict(float)
    best: dict[str, PlateRead] = {}
    for read in reads:
        totals[read.text] += vote_weight(read)
        if read.text not in best or vote_weight(read) > vote_weight(best[read.text]):
            best[read.text] = read
    order = {text: index for index, text in enumerate(best)}
    winner = max(totals, key=lambda text: (totals[text], vote_weight(best[text]), -order[text]))
    chosen = best[winner]
    return PlateRead(
        text=chosen.text,
        confidence=chosen.confidence,
        box=reads[0].box,
        lines=chosen.lines,
        rule=chosen.rule,
        frames=chosen.frames,
    )
