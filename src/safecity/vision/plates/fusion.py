"""One registration per vehicle track: confidence-weighted voting over its frames.

A plate seen in ten frames is read ten times, with different blur, angle and
light; single reads disagree in a character or two, or lose a character at an
edge. Fusion first agrees on the length (the length carrying the most total
confidence wins, so a read that dropped a character does not shift every
position after it), then votes character by character among the reads of that
length, each weighted by its confidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from safecity.vision.plates.result import PlateRead


def fuse_reads(reads: Sequence[PlateRead]) -> PlateRead | None:
    """The one read of a track, or None when there is nothing to fuse.

    The fused confidence is the mean share of the winning character at each
    position (agreement), times the weighted mean confidence of the reads that
    had the winning length, times the share of total confidence carried by that
    length. ``box`` and ``lines`` come from the most confident read agreeing with
    the result (else the most confident read of that length); ``frames`` counts
    all reads given.
    """
    usable = [read for read in reads if read.text]
    if not usable:
        return None
    by_length: dict[int, list[PlateRead]] = defaultdict(list)
    for read in usable:
        by_length[len(read.text)].append(read)
    total_weight = sum(_weight(read) for read in usable)
    length = max(by_length, key=lambda size: (sum(_weight(read) for read in by_length[size]), size))
    voters = by_length[length]
    voter_weight = sum(_weight(read) for read in voters)
    chars: list[str] = []
    shares: list[float] = []
    for position in range(length):
        tally: dict[str, float] = defaultdict(float)
        for read in voters:
            tally[read.text[position]] += _weight(read)
        winner = max(tally, key=lambda char: (tally[char], char))
        chars.append(winner)
        shares.append(tally[winner] / voter_weight)
    text = "".join(chars)
    agreeing = [read for read in voters if read.text == text]
    model = max(agreeing or voters, key=_weight)
    mean_confidence = sum(read.confidence * _weight(read) for read in voters) / voter_weight
    confidence = (sum(shares) / length) * mean_confidence * (voter_weight / total_weight)
    return PlateRead(
        text=text,
        confidence=round(min(1.0, max(0.0, confidence)), 4),
        box=model.box,
        lines=_lines_like(model.lines, text),
        rule=model.rule,
        frames=len(reads),
    )


def _weight(read: PlateRead) -> float:
    # A zero-confidence read still counts a little, so a track of them can be fused.
    return max(read.confidence, 1e-6)


def _lines_like(model: tuple[str, ...], text: str) -> tuple[str, ...]:
    """``text`` split into lines of the same lengths as ``model``."""
    if sum(len(line) for line in model) != len(text):
        return (text,)
    lines, start = [], 0
    for line in model:
        lines.append(text[start : start + len(line)])
        start += len(line)
    return tuple(lines)
