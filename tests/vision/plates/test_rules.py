"""Format rules and normalisation, table-driven: what counts as the registration."""

from __future__ import annotations

from pathlib import Path

import pytest

from safecity.core.errors import ConfigError
from safecity.vision.plates import FormatRules, LineRead, interpret, normalise_text
from safecity.vision.plates.interpret import is_date_or_year
from safecity.vision.plates.lattice import CharSlot
from safecity.vision.plates.rules import parse_pattern

PK = FormatRules.default()
BR = FormatRules.builtin("br")
US = FormatRules.builtin("us")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("leb-3656", "LEB3656"),
        ("AY0·9034", "AY09034"),
        (" ab 12 ", "AB12"),
        ("粤P853FL", "P853FL"),
        ("---", ""),
    ],
)
def test_normalise_text_keeps_upper_case_latin_letters_and_digits(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected


@pytest.mark.parametrize(
    ("pattern", "shape"),
    [
        ("L{3}D{3,4}", [("L", 3, 3), ("D", 3, 4)]),
        ("LD{2}X", [("L", 1, 1), ("D", 2, 2), ("X", 1, 1)]),
        ("L{3} D L D{2}", [("L", 3, 3), ("D", 1, 1), ("L", 1, 1), ("D", 2, 2)]),
    ],
)
def test_patterns_parse(pattern: str, shape: list[tuple[str, int, int]]) -> None:
    assert [(s.kind, s.low, s.high) for s in parse_pattern(pattern)] == shape


@pytest.mark.parametrize("pattern", ["", "Q{3}", "L{3,2}", "L{0}", "L{3"])
def test_bad_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        parse_pattern(pattern)


# (rule set, lines as printed/read, registration, rule)
CASES = [
    # Punjab: band word above, year tag between letters and digits.
    (PK, ["PUNJAB", "LEB 19 3656"], "LEB3656", "pk-punjab"),
    (PK, ["PUNJAB", "LEB 2019 3656"], "LEB3656", "pk-punjab"),
    # Two-line Punjab: band, letters + year, digits.
    (PK, ["PUNJAB", "FZD 15", "7468"], "FZD7468", "pk-punjab"),
    # ... its band word unread: the year tag is not the digits, the lower line is.
    (PK, ["LMF 23", "7880"], "LMF7880", "pk-kp"),
    (PK, ["SFJ 12", "1401"], "SFJ1401", "pk-kp"),
    # Sindh hyphenated series with the province below.
    (PK, ["AAA-001", "SINDH"], "AAA001", "pk-sindh"),
    (PK, ["SINDH", "GS 1234"], "GS1234", "pk-sindh-government"),
    # KP with a district word, one and two lines.
    (PK, ["YFH 4809", "PESHAWAR"], "YFH4809", "pk-kp"),
    (PK, ["VW", "135", "PESHAWAR"], "VW135", "pk-kp"),
    (PK, ["KHYBER PAKHTUNKHWA", "AB 123"], "AB123", "pk-kp"),
    # ICT: the territory word above the number.
    (PK, ["ISLAMABAD", "BLP 43"], "BLP43", "pk-ict"),
    (PK, ["ICT", "LE 5020"], "LE5020", "pk-ict"),
    # Look-alikes fixed by position: 0->D in a letter place, O->0 and B->8 in digit places.
    (PK, ["PESHAWAR", "L0 1234"], "LD1234", "pk-kp"),
    (PK, ["LEB 36O6"], "LEB3606", "pk-kp"),
    (PK, ["KP", "AB 12B4"], "AB1284", "pk-kp"),
    (PK, ["5AB 1234"], "SAB1234", "pk-kp"),
    # Punjab's year tag read into the number; the KP emblem read as a 0.
    (PK, ["PUNJAB", "LHF10645"], "LHF645", "pk-punjab"),
    (PK, ["PUNJAB", "SSV225901"], "SSV5901", "pk-punjab"),
    (PK, ["LAX0813", "KOHAT"], "LAX813", "pk-kp"),
    # ... but a plain KP number keeps every digit, and Sindh keeps its leading zeros.
    (PK, ["LAX 1813"], "LAX1813", "pk-kp"),
    (PK, ["ABC-001"], "ABC001", "pk-sindh"),
    # A misread province word (one letter off) is still left out.
    (PK, ["PUNJA8", "RIZ 3725"], "RIZ3725", "generic"),
    # Brazil: grey LLL-DDDD and Mercosul LLL D L DD, with city above.
    (BR, ["BA-SALVADOR", "NY1·3834"], "NYI3834", "br-old"),
    (BR, ["BRASIL", "RIO2A18"], "RIO2A18", "br-mercosul"),
    (BR, ["AY0·9034"], "AYO9034", "br-old"),
    # US: state name and slogan left out, anything plausible passes as generic.
    (US, ["California", "5VCF203", "dmv.ca.gov"], "5VCF203", "us-DLLLDDD"),
    (US, ["TEXAS", "CDL-4461"], "CDL4461", "us-LLLDDDD"),
    (US, ["NEW YORK", "K2 AB7"], "K2AB7", "generic"),
    # US plates print O and zero alike: filed as zero, whichever the recogniser saw.
    (US, ["MLOC2S"], "ML0C2S", "generic"),
    (US, ["OSG719"], "0SG719", "us-LLLDDD"),
    # Elsewhere the letter O is a letter.
    (BR, ["OKA2B47"], "OKA2B47", "br-mercosul"),
]


@pytest.mark.parametrize(("rules", "lines", "text", "rule"), CASES)
def test_interpretation(rules: FormatRules, lines: list[str], text: str, rule: str) -> None:
    found = interpret([LineRead.from_text(line) for line in lines], rules)
    assert found is not None
    assert (found.text, found.rule) == (text, rule)


@pytest.mark.parametrize(
    ("rules", "lines"),
    [
        (PK, ["20140616 064642"]),  # a timestamp overlay
        (PK, ["PUNJAB"]),
        (PK, ["000014"]),  # digits only: Pakistani registrations always have letters
        (BR, ["DIADEMA"]),
        (US, ["TEXAS"]),
        (US, ["GOPENSKE"]),  # filed O as zero would give it the digit a registration needs
        # Two-line plates print the letters above the digits: digits above a line of
        # letters are the number's digits and a misread word under them (KOHAT, D.I.KHAN).
        (PK, ["203", "HAT"]),
        (PK, ["330", "HAN"]),
        (PK, []),
    ],
)
def test_text_that_is_no_registration_is_refused(rules: FormatRules, lines: list[str]) -> None:
    assert interpret([LineRead.from_text(line) for line in lines], rules) is None


def test_the_recognisers_own_alternative_beats_the_look_alike_table() -> None:
    # 'B' is the top guess in a digit place; the model also considered '3' (not the
    # table's 8), so the reading takes '3'.
    doubtful = CharSlot((("B", 0.6), ("3", 0.35), ("8", 0.01)))
    tokens = (
        *(CharSlot.certain(c) for c in "LEB36"),
        doubtful,
        CharSlot.certain("6"),
    )
    found = interpret([LineRead(tokens=(tokens,), raw="")], PK)
    assert found is not None
    assert found.text == "LEB3636"


def test_same_characters_must_be_one_letter_or_digit_each() -> None:
    with pytest.raises(ValueError, match="same_characters"):
        FormatRules(rules=(), same_characters={"O": "00"})
    with pytest.raises(ValueError, match="same_characters"):
        FormatRules(rules=(), same_characters={"-": "0"})
    assert FormatRules(rules=(), same_characters={"O": "0"}).file_as("OO7") == "007"


def test_the_builtin_sets_load_and_are_named() -> None:
    assert FormatRules.builtin_names() == ("br", "pk", "us")
    assert FormatRules.default().name == "pk"
    with pytest.raises(KeyError, match="no rule set"):
        FormatRules.builtin("xx")


def test_a_rule_file_with_a_mistake_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "sets:\n  local:\n    rules:\n      - name: x\n        pattern: L{2}D{3}\n"
        "        colour: blue\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"rules\.yaml:6: .*colour"):
        FormatRules.from_yaml(path, "local")


def test_a_rule_file_is_loaded_and_used(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "sets:\n  uk:\n    rules:\n      - name: uk-current\n        pattern: L{2}D{2}L{3}\n",
        encoding="utf-8",
    )
    rules = FormatRules.from_yaml(path, "uk")
    found = interpret([LineRead.from_text("AB51 ABC")], rules)
    assert found is not None
    assert (found.text, found.rule) == ("AB51ABC", "uk-current")


@pytest.mark.parametrize(
    ("text", "is_date"),
    [
        ("20140617", True),  # YYYYMMDD, a camera's burned-in timestamp
        ("17062014", True),  # DDMMYYYY
        ("06172014", True),  # MMDDYYYY
        ("1972", True),  # a year sticker
        ("201406", True),  # YYYYMM: the day, a short token, was left out
        ("201413", False),
        ("20141317", False),  # month 13 and day 13-17 both impossible as YYYYMMDD / YYYYDDMM
        ("21140617", False),  # no 19xx/20xx year anywhere
        ("9937410", False),
        ("3612", False),
        ("AB2014", False),
    ],
)
def test_dates_and_years_are_recognised(text: str, is_date: bool) -> None:
    assert is_date_or_year(text) is is_date


def test_a_burned_in_date_is_not_a_plate() -> None:
    assert interpret([LineRead.from_text("2014-06-17")], US) is None
    assert interpret([LineRead.from_text("2014")], US) is None
    found = interpret([LineRead.from_text("7 301 841")], US)
    assert found is not None
    assert found.text == "7301841"


def test_digits_read_with_confidence_are_not_turned_into_letters_at_equal_cost() -> None:
    """A 7-digit read fits us-LDDDDDD only by turning its first digit into a look-alike
    letter the recogniser never offered; the unchanged digits win the tie."""
    found = interpret([LineRead.from_text("1049338", prob=0.95)], US)
    assert found is not None
    assert found.text == "1049338"
    assert found.rule == "generic"
    # A letter the recogniser itself read still fits the rule.
    found = interpret([LineRead.from_text("P602849", prob=0.95)], US)
    assert found is not None
    assert (found.text, found.rule) == ("P602849", "us-LDDDDDD")
