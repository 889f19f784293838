"""Registration formats as data: which characters may stand where, per country and province.

A rule's ``pattern`` is a sequence of character classes with counts, e.g.
``L{3}D{3,4}`` (three letters then three or four digits). Classes: ``L`` a
letter from the rule's ``letters``, ``D`` a digit, ``X`` either. Rules are
tried in order; a read is scored against each one, characters in a position of
the wrong class are replaced by the most likely character of the right class
(what the recogniser itself considered there, else a look-alike from
``confusions``), and the cheapest match wins. A read that matches no rule may
still pass the ``generic`` shape, reported as rule ``"generic"``.

Rule sets ship in ``formats.yaml`` beside this module (``pk``: Pakistan, the
default; ``us`` and ``br`` for the evaluation photos); operators may load their
own file with :meth:`FormatRules.from_yaml`.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safecity.core.errors import ConfigError
from safecity.core.yamlfile import load_yaml_model

CharClass = Literal["L", "D", "X"]
_SEGMENT = re.compile(r"([LDX])(?:\{(\d+)(?:,(\d+))?\})?")
_BUILTIN = Path(__file__).with_name("formats.yaml")
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"


class Segment(BaseModel):
    """A run of one character class, ``low`` to ``high`` characters long."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CharClass = Field(description="L letter, D digit, X letter or digit")
    low: int = Field(ge=1, description="fewest characters")
    high: int = Field(ge=1, description="most characters")


def parse_pattern(pattern: str) -> tuple[Segment, ...]:
    """``L{2,3}D{4}`` -> segments; raises ValueError on anything else."""
    segments: list[Segment] = []
    position = 0
    compact = pattern.replace(" ", "")
    while position < len(compact):
        found = _SEGMENT.match(compact, position)
        if found is None:
            raise ValueError(f"cannot read pattern {pattern!r} at {compact[position:]!r}")
        low = int(found.group(2) or 1)
        high = int(found.group(3) or low)
        if low < 1 or high < low:
            raise ValueError(f"bad count in pattern {pattern!r}: {found.group(0)}")
        segments.append(Segment(kind=found.group(1), low=low, high=high))
        position = found.end()
    if not segments:
        raise ValueError("pattern must not be empty")
    return tuple(segments)


class FormatRule(BaseModel):
    """One registration format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="reported as PlateRead.rule, e.g. pk-punjab")
    pattern: str = Field(description="character classes with counts, e.g. L{3}D{3,4}")
    letters: str = Field(
        LATIN, description="letters this authority issues (Pakistan leaves out I, O and U)"
    )
    words: tuple[str, ...] = Field(
        (), description="words printed on such plates (PUNJAB, SINDH): seeing one favours the rule"
    )

    gap: int = Field(
        0,
        ge=0,
        le=2,
        description="characters printed between the letters and the digits that are not "
        "part of the number (Punjab's 2-digit year, an emblem read as a glyph)",
    )
    leading_zero: bool = Field(
        True, description="whether the digits may start with 0 (Sindh's AAA-001 series)"
    )
    prior_cost: float = Field(
        0.0, ge=0, description="added to every match: how much rarer this format is"
    )

    @field_validator("pattern")
    @classmethod
    def _pattern_parses(cls, value: str) -> str:
        parse_pattern(value)
        return value

    @field_validator("letters")
    @classmethod
    def _letters_latin(cls, value: str) -> str:
        if not value or any(char not in LATIN for char in value):
            raise ValueError("letters must be upper-case A-Z")
        return value

    @cached_property
    def segments(self) -> tuple[Segment, ...]:
        return parse_pattern(self.pattern)

    @property
    def min_length(self) -> int:
        return sum(segment.low for segment in self.segments)

    @property
    def max_length(self) -> int:
        return sum(segment.high for segment in self.segments)

    def allowed(self, kind: CharClass) -> str:
        if kind == "L":
            return self.letters
        if kind == "D":
            return DIGITS
        return self.letters + DIGITS


class GenericShape(BaseModel):
    """What any registration looks like when no rule matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="accept reads that match no rule")
    min_length: int = Field(4, ge=1, description="fewest characters")
    max_length: int = Field(8, ge=1, description="most characters")
    needs_digit: bool = Field(True, description="a registration holds at least one digit")
    needs_letter: bool = Field(False, description="a registration holds at least one letter")
    penalty: float = Field(
        1.5, ge=0, description="cost added to a generic match, so a rule match wins if close"
    )
    reject_dates: bool = Field(
        True,
        description="refuse digits that read as a date (YYYYMMDD, DDMMYYYY, MMDDYYYY) or a "
        "year (19xx, 20xx): cameras burn timestamps into the picture",
    )
    digits_only_penalty: float = Field(
        0.0,
        ge=0,
        description="extra cost of a generic match without letters: where most registrations "
        "hold letters, digits alone are more often a clock, a phone or a house number",
    )
    lower_line_digit: bool = Field(
        False,
        description="a match read over two lines holds a digit in its lower line: where "
        "two-line plates print the letters above the digits, a lower line of letters alone "
        "is the word printed under the number (the digits and KOHAT read as 203HAT)",
    )


class FormatRules(BaseModel):
    """The formats of one country (or a deployment's own mix); :meth:`default` is Pakistan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("custom", description="name of the rule set (set from the catalogue key)")
    description: str = Field("", description="what the set covers")
    rules: tuple[FormatRule, ...] = Field(description="formats, most common first")
    generic: GenericShape = Field(default_factory=GenericShape, description="fallback shape")
    ignore_words: tuple[str, ...] = Field(
        (), description="words printed on plates that are not part of the registration"
    )
    drop_year_tags: bool = Field(
        False,
        description="drop a 2-digit or 4-digit (19xx/20xx) year token standing between the "
        "letters and the digits or after them (Punjab prints the registration year)",
    )
    confusions: dict[str, str] = Field(
        default_factory=lambda: {
            "O": "0",
            "Q": "0",
            "D": "0",
            "U": "0",
            "I": "1",
            "L": "1",
            "T": "1",
            "J": "1",
            "Z": "2",
            "S": "5",
            "B": "8",
            "G": "6",
            "A": "4",
        },
        description="look-alike letter -> digit pairs, used both ways when the recogniser "
        "offers no alternative of the needed class",
    )
    same_characters: dict[str, str] = Field(
        default_factory=dict,
        description="characters the set's plates print alike, each filed as the one it maps "
        "to (US: the letter O and the digit zero share a glyph on most plates, so no camera "
        "can tell them apart; a read says zero for both)",
    )
    confusion_cost: float = Field(
        2.0, ge=0, description="cost of a look-alike substitution the recogniser did not offer"
    )
    leading_zero_cost: float = Field(
        1.0, ge=0, description="cost of digits starting with 0 where a rule does not issue them"
    )
    max_cost: float = Field(
        3.5,
        ge=0,
        description="matches costing more than this are rejected (one look-alike "
        "substitution costs confusion_cost, so the default allows one)",
    )

    @model_validator(mode="after")
    def _confusions_letter_to_digit(self) -> FormatRules:
        for letter, digit in self.confusions.items():
            if letter not in LATIN or digit not in DIGITS:
                raise ValueError(f"confusion {letter!r}: {digit!r} must map a letter to a digit")
        for source, target in self.same_characters.items():
            if len(source) != 1 or len(target) != 1 or not {source, target} <= set(LATIN + DIGITS):
                raise ValueError(
                    f"same_characters {source!r}: {target!r} must map one letter or digit "
                    "to another"
                )
        return self

    def file_as(self, text: str) -> str:
        """``text`` written the way the set files it (:attr:`same_characters` applied)."""
        if not self.same_characters:
            return text
        return "".join(self.same_characters.get(char, char) for char in text)

    @staticmethod
    def builtin(name: str) -> FormatRules:
        """A rule set shipped in formats.yaml: ``pk``, ``us`` or ``br``."""
        return _pick(_load_catalogue(), name, "built-in")

    @staticmethod
    def default() -> FormatRules:
        """Pakistani formats (Punjab, Sindh, KP, ICT, older series) plus the generic shape."""
        return FormatRules.builtin("pk")

    @staticmethod
    def from_yaml(path: Path, name: str) -> FormatRules:
        """Rule set ``name`` from a YAML catalogue of the same shape as formats.yaml;
        raises ConfigError naming the file and line of a mistake."""
        return _pick(load_yaml_model(path, RuleCatalogue), name, str(path))

    @staticmethod
    def builtin_names() -> tuple[str, ...]:
        return tuple(sorted(_load_catalogue().sets))

    @staticmethod
    def load(name: str, path: Path | None = None) -> FormatRules:
        """Rule set ``name``, built in (``path`` None) or from the YAML catalogue at
        ``path``: what ``safecity anpr read --rules/--rules-file`` and the analytics
        workers' settings choose. Raises ConfigError for an unknown name (naming the known
        ones) or a file that cannot be read or validated (naming its file and line)."""
        try:
            return FormatRules.builtin(name) if path is None else FormatRules.from_yaml(path, name)
        except KeyError as exc:
            raise ConfigError(str(exc.args[0])) from exc

    def digit_for(self, letter: str) -> str | None:
        """The digit a letter is mistaken for, if any."""
        return self.confusions.get(letter)

    def letter_for(self, digit: str, allowed: str) -> str | None:
        """The first look-alike letter of ``digit`` among ``allowed``, in table order."""
        for letter, value in self.confusions.items():
            if value == digit and letter in allowed:
                return letter
        return None


class RuleCatalogue(BaseModel):
    """A YAML file of named rule sets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sets: dict[str, FormatRules] = Field(description="rule sets by name")


_catalogue: RuleCatalogue | None = None


def _load_catalogue() -> RuleCatalogue:
    global _catalogue  # noqa: PLW0603 - read once, on first use, never at import
    if _catalogue is None:
        _catalogue = RuleCatalogue.model_validate(
            yaml.safe_load(_BUILTIN.read_text(encoding="utf-8"))
        )
    return _catalogue


def _pick(catalogue: RuleCatalogue, name: str, source: str) -> FormatRules:
    if name not in catalogue.sets:
        raise KeyError(f"{source}: no rule set {name!r}; known: {sorted(catalogue.sets)}")
    return catalogue.sets[name].model_copy(update={"name": name})
