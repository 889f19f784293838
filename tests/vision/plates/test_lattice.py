"""Decoding the recogniser's per-step probabilities onto plate characters."""

from __future__ import annotations

import numpy as np

from safecity.vision.plates.lattice import Alphabet, decode_line

# A small stand-in for the recogniser's character list: blank first, like PP-OCR's.
CHARACTERS = ["blank", "A", "B", "8", "-", "b", "3", "粤", " "]
ALPHABET = Alphabet.from_characters(CHARACTERS)


def _steps(*rows: dict[str, float]) -> np.ndarray:
    probs = np.zeros((len(rows), len(CHARACTERS)), dtype=np.float32)
    for step, row in enumerate(rows):
        for char, prob in row.items():
            probs[step, CHARACTERS.index(char)] = prob
    return probs


def test_repeats_collapse_blanks_separate_and_symbols_break_words() -> None:
    probs = _steps(
        {"A": 0.9, "blank": 0.1},
        {"A": 0.8, "blank": 0.2},
        {"blank": 1.0},
        {"A": 0.9, "blank": 0.1},
        {"-": 0.9, "blank": 0.1},
        {"3": 0.95, "blank": 0.05},
    )
    line = decode_line(probs, ALPHABET)
    assert line.words == ("AA", "3")
    assert line.raw == "AA-3"


def test_case_variants_merge_and_alternatives_are_kept() -> None:
    probs = _steps({"B": 0.3, "b": 0.3, "8": 0.35, "blank": 0.05})
    line = decode_line(probs, ALPHABET)
    slot = line.tokens[0][0]
    assert slot.best == "B"
    assert slot.best_prob == np.float32(0.6)
    assert slot.prob_of("8") == np.float32(0.35)


def test_a_glyph_outside_the_plate_alphabet_is_a_break_not_a_letter() -> None:
    probs = _steps({"粤": 0.9, "blank": 0.1}, {"A": 0.9, "blank": 0.1})
    assert decode_line(probs, ALPHABET).words == ("A",)


def test_no_steps_no_text() -> None:
    assert decode_line(np.zeros((0, len(CHARACTERS)), np.float32), ALPHABET).text == ""
