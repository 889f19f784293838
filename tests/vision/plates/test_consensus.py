"""The vote among several reads of one plate (safecity.vision.plates.consensus), table-driven."""

from __future__ import annotations

import pytest

from safecity.vision.plates.consensus import FORMAT_WEIGHT, consensus, vote_weight
from safecity.vision.plates.result import GENERIC_RULE, PixelBox, PlateRead

FIRST_BOX = PixelBox(10, 20, 80, 30)


def _read(
    text: str, confidence: float, rule: str = GENERIC_RULE, box: PixelBox | None = None
) -> PlateRead:
    return PlateRead(text, confidence, box or PixelBox(0, 0, 40, 12), (text,), rule)


# (reads, in the order they were made; the registration that wins)
CASES = [
    # Three ordinary reads agreeing outvote one very confident read.
    ([("GHP995", 0.99), ("6HP995", 0.7), ("6HP995", 0.7), ("6HP995", 0.7)], "6HP995"),
    # A single read is its own answer.
    ([("LEB3656", 0.6)], "LEB3656"),
    # At equal totals the registration with the stronger single read wins ...
    ([("AB123", 0.5), ("AB123", 0.5), ("AB128", 1.0)], "AB128"),
    # ... and at equal totals and equal best reads, the one read first.
    ([("AB123", 0.8), ("AB128", 0.8)], "AB123"),
]


@pytest.mark.parametrize(("reads", "winner"), CASES)
def test_the_registration_most_reads_agree_on_wins(
    reads: list[tuple[str, float]], winner: str
) -> None:
    found = consensus([_read(text, confidence) for text, confidence in reads])
    assert found.text == winner


def test_fitting_a_format_rule_adds_to_a_reads_vote() -> None:
    assert vote_weight(_read("ABC123", 0.6, "pk-sindh")) == pytest.approx(0.6 + FORMAT_WEIGHT)
    assert vote_weight(_read("ABC123", 0.6)) == pytest.approx(0.6)
    # Two generic reads at 0.7 (1.4) lose to two rule fits at 0.5 (1.0 + 2 * 0.3 = 1.6).
    reads = [
        _read("ABC1234", 0.7),
        _read("ABC123", 0.5, "pk-sindh"),
        _read("ABC1234", 0.7),
        _read("ABC123", 0.5, "pk-sindh"),
    ]
    assert consensus(reads).text == "ABC123"


def test_the_winner_is_its_best_read_in_the_first_reads_box() -> None:
    reads = [
        _read("KCS1M", 0.55, box=FIRST_BOX),
        PlateRead("LEB3656", 0.62, PixelBox(0, 0, 9, 9), ("LEB", "3656"), "pk-punjab"),
        PlateRead("LEB3656", 0.91, PixelBox(1, 1, 9, 9), ("LEB", "3656"), "pk-punjab"),
    ]
    found = consensus(reads)
    assert (found.text, found.confidence, found.lines, found.rule) == (
        "LEB3656",
        0.91,
        ("LEB", "3656"),
        "pk-punjab",
    )
    assert found.box == FIRST_BOX


def test_no_reads_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one read"):
        consensus([])
