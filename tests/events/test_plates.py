"""Plate terms as typed, translated for the database: table-driven, no database."""

from __future__ import annotations

import pytest

from safecity.core.errors import InvalidInput
from safecity.events.plates import PlateQuery, SearchMode, confusable_key, plate_query


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("LEB3656", "LE83656"),
        ("LE83656", "LE83656"),
        ("OIBSZG", "018526"),
        ("018526", "018526"),
        ("ABC123", "A8C123"),
    ],
)
def test_confusable_letters_fold_onto_digits(text: str, key: str) -> None:
    assert confusable_key(text) == key


@pytest.mark.parametrize(
    ("term", "mode", "expected"),
    [
        ("leb-3656", "exact", PlateQuery(column="text", equals="LEB3656")),
        ("LEB 3656", "wildcard", PlateQuery(column="text", equals="LEB3656")),
        ("LE?-12*", "exact", PlateQuery(column="text", equals="LE?12*")),
        (
            "LE?-12*",
            "wildcard",
            PlateQuery(column="text", like="LE_12%", prefix="LE", prefix_end="LF"),
        ),
        # Only the end known: searched backwards, on the reversed text's index.
        (
            "*3656",
            "wildcard",
            PlateQuery(column="reversed", like="6563%", prefix="6563", prefix_end="6564"),
        ),
        (
            "*36?6",
            "wildcard",
            PlateQuery(column="reversed", like="6_63%", prefix="6", prefix_end="7"),
        ),
        ("?EB*", "wildcard", PlateQuery(column="text", like="_EB%", prefix="")),
        ("*36?6", "fuzzy", PlateQuery(column="key", like="%36_6", prefix="")),
        ("*8", "fuzzy", PlateQuery(column="key", like="%8", prefix="")),
        (
            "LZ*",
            "wildcard",
            PlateQuery(column="text", like="LZ%", prefix="LZ", prefix_end="M"),
        ),
        ("A9*", "wildcard", PlateQuery(column="text", like="A9%", prefix="A9", prefix_end="AA")),
        # % and _ typed by a person are literals, escaped: they never widen the search.
        ("LE%", "wildcard", PlateQuery(column="text", equals="LE%")),
        (
            "L_%*",
            "wildcard",
            PlateQuery(column="text", like="L\\_\\%%", prefix="L", prefix_end="M"),
        ),
        (
            "LE\\*",
            "wildcard",
            PlateQuery(column="text", like="LE\\\\%", prefix="LE", prefix_end="LF"),
        ),
        ("LEB3656", "fuzzy", PlateQuery(column="key", equals="LE83656")),
        ("LEO*", "fuzzy", PlateQuery(column="key", like="LE0%", prefix="LE0", prefix_end="LE1")),
    ],
)
def test_terms_translate_to_equality_or_escaped_like(
    term: str, mode: SearchMode, expected: PlateQuery
) -> None:
    assert plate_query(term, mode) == expected


@pytest.mark.parametrize("term", ["", " - ", "*", "**", "A" * 25])
def test_empty_or_oversized_terms_are_refused(term: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        plate_query(term, "wildcard")
    assert caught.value.field == "plate"


def test_one_character_off_covers_drops_additions_and_changes() -> None:
    from safecity.events.plates import one_character_off

    near = one_character_off("AK12")
    assert {"AK12", "A12", "AK1", "AK123", "XAK12", "AX12", "AK72"} <= set(near)
    assert "AK1234" not in near  # two added
    assert "KA12" not in near  # two changed
    assert all(len(k) >= 2 for k in near)
    # Keys only: a letter folded onto its digit (O -> 0, S -> 5) is never generated.
    assert not any(set(k) & set("OIBSZG") for k in near)
    assert near == tuple(sorted(set(near)))
