"""What the recogniser saw, kept with its doubts: per character, the likely alternatives.

The text recogniser (a CTC model) scores every character of a large alphabet at
each horizontal step of the line. A plate holds only A-Z and 0-9, so decoding is
restricted to those (upper and lower case merged), with every other symbol
(hyphen, dot, space, emblem read as a glyph) acting as a word break. Each
decoded character keeps its best alternatives: when a format rule says a
position must be a digit, the reader takes the best digit the model itself
considered there, rather than a fixed substitution table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_KEEP_ALTERNATIVES = 5
_MIN_ALTERNATIVE = 1e-4


@dataclass(frozen=True)
class CharSlot:
    """One character position: (character, probability) pairs, most likely first."""

    choices: tuple[tuple[str, float], ...]

    @property
    def best(self) -> str:
        return self.choices[0][0]

    @property
    def best_prob(self) -> float:
        return self.choices[0][1]

    def prob_of(self, char: str) -> float:
        for candidate, prob in self.choices:
            if candidate == char:
                return prob
        return 0.0

    @staticmethod
    def certain(char: str, prob: float = 1.0) -> CharSlot:
        return CharSlot(((char, prob),))


Token = tuple[CharSlot, ...]
"""Characters printed together, without a break between them."""


@dataclass(frozen=True)
class LineRead:
    """One printed line as the recogniser read it: tokens of character slots."""

    tokens: tuple[Token, ...]
    raw: str
    """The recogniser's own best text, including symbols (for diagnostics)."""

    @property
    def text(self) -> str:
        return "".join(slot.best for token in self.tokens for slot in token)

    @property
    def words(self) -> tuple[str, ...]:
        return tuple("".join(slot.best for slot in token) for token in self.tokens)

    @property
    def mean_prob(self) -> float:
        probs = [slot.best_prob for token in self.tokens for slot in token]
        return float(np.mean(probs)) if probs else 0.0

    @staticmethod
    def from_text(text: str, prob: float = 1.0) -> LineRead:
        """A line known only as text (tests, other recognisers): every character certain."""
        tokens: list[Token] = []
        current: list[CharSlot] = []
        for char in text.upper():
            if char in ALNUM:
                current.append(CharSlot.certain(char, prob))
            elif current:
                tokens.append(tuple(current))
                current = []
        if current:
            tokens.append(tuple(current))
        return LineRead(tokens=tuple(tokens), raw=text)


@dataclass(frozen=True)
class Alphabet:
    """Where A-Z and 0-9 sit in the recogniser's character list (index 0 is the blank)."""

    columns: npt.NDArray[np.intp]
    """Shape (36, k): for each of ALNUM, the columns holding it (case variants), -1 padded."""
    characters: tuple[str, ...]

    @staticmethod
    def from_characters(characters: Sequence[str]) -> Alphabet:
        positions: dict[str, list[int]] = {char: [] for char in ALNUM}
        for index, char in enumerate(characters):
            if index == 0 or len(char) != 1:
                continue
            upper = char.upper()
            if upper in positions and char.isascii():
                positions[upper].append(index)
        width = max(1, *(len(found) for found in positions.values()))
        columns = np.full((len(ALNUM), width), -1, dtype=np.intp)
        for row, char in enumerate(ALNUM):
            for col, index in enumerate(positions[char]):
                columns[row, col] = index
        return Alphabet(columns=columns, characters=tuple(characters))


def decode_line(probs: npt.NDArray[np.float32], alphabet: Alphabet) -> LineRead:
    """Greedy CTC decoding of one line's (steps, classes) probabilities onto A-Z0-9."""
    if probs.ndim != 2 or probs.shape[0] == 0:
        return LineRead(tokens=(), raw="")
    steps = probs.shape[0]
    padded = np.concatenate([probs, np.zeros((steps, 1), dtype=probs.dtype)], axis=1)
    # (steps, 36): probability of each plate character, case variants summed.
    alnum = padded[:, alphabet.columns].sum(axis=2)
    blank = probs[:, 0]
    other = np.clip(1.0 - blank - alnum.sum(axis=1), 0.0, 1.0)
    # Label per step: 0..35 a character, 36 blank, 37 a break (any other symbol).
    scores = np.concatenate([alnum, blank[:, None], other[:, None]], axis=1)
    labels = scores.argmax(axis=1)
    raw_labels = probs.argmax(axis=1)
    raw = "".join(
        alphabet.characters[int(index)]
        for step, index in enumerate(raw_labels)
        if index != 0 and (step == 0 or raw_labels[step - 1] != index)
    )
    tokens: list[Token] = []
    current: list[CharSlot] = []
    step = 0
    while step < steps:
        label = int(labels[step])
        end = step + 1
        while end < steps and int(labels[end]) == label:
            end += 1
        if label < len(ALNUM):
            current.append(_slot(alnum[step:end]))
        elif label == len(ALNUM) + 1 and current:
            tokens.append(tuple(current))
            current = []
        step = end
    if current:
        tokens.append(tuple(current))
    return LineRead(tokens=tuple(tokens), raw=raw)


def _slot(span: npt.NDArray[np.float32]) -> CharSlot:
    peak = span.max(axis=0)
    order = np.argsort(-peak)[:_KEEP_ALTERNATIVES]
    choices = tuple(
        (ALNUM[int(index)], float(peak[index]))
        for rank, index in enumerate(order)
        if rank == 0 or peak[index] >= _MIN_ALTERNATIVE
    )
    return CharSlot(choices)
