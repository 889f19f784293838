"""Plate text as people type it and as the reader misreads it. Pure: no database.

Stored plate texts are upper-case letters and digits only (``contracts.PlateRead``).
A search may be exact, a wildcard pattern (``?`` one character, ``*`` any run), or
fuzzy: OCR confuses O with 0, I with 1, B with 8, S with 5, Z with 2 and G with 6,
so each text is also stored as a *confusable key* in which every such pair is folded
onto its digit; two texts that differ only in those characters share a key. A *near*
search also finds reads one character off the term beyond those pairs (one dropped,
added or misread: BKC551 or BKC5351 for BKC5851), the reader's commonest other errors;
it looks the neighbours' keys up by equality, so it is as indexed as a fuzzy search.
Hotlists match exact and fuzzy only: one character off any entry of a long list is a
sizeable share of all plates, which would be alerts, not leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from safecity.core.errors import InvalidInput

SearchMode = Literal["exact", "wildcard", "fuzzy", "near"]

# Letter -> the digit the reader mistakes it for (and the reverse, by folding both).
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "B": "8", "S": "5", "Z": "2", "G": "6"})
# Separators people type between a plate's parts ("LEB-3656", "LEB 3656") carry nothing.
_SEPARATORS = str.maketrans("", "", " -")
# Index-friendly upper bound of a prefix: the order of these characters is the same in
# the C collation and in the usual locales (digits before letters).
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LIKE_ESCAPE = "\\"
MAX_PLATE = 12


def confusable_key(text: str) -> str:
    """The text with every OCR-confusable letter folded onto its digit."""
    return text.upper().translate(_CONFUSABLE)


def normalise(text: str) -> str:
    """Upper-case, separators removed: the form stored texts have."""
    return text.upper().translate(_SEPARATORS)


def is_plate_text(text: str) -> bool:
    return 2 <= len(text) <= MAX_PLATE and text.isascii() and text.isalnum()


def _escape_like(literal: str) -> str:
    return "".join(LIKE_ESCAPE + c if c in "%_\\" else c for c in literal)


def _upper_bound(prefix: str) -> str | None:
    """Smallest plate text greater than every text starting with ``prefix`` (None: none)."""
    chars = list(prefix)
    while chars:
        last = chars.pop()
        position = _ALPHABET.find(last)
        if 0 <= position < len(_ALPHABET) - 1:
            return "".join(chars) + _ALPHABET[position + 1]
    return None


@dataclass(frozen=True)
class PlateQuery:
    """A search term translated for one column: equality, or LIKE plus an index range."""

    column: Literal["text", "key", "reversed"]
    equals: str | None = None
    any_of: tuple[str, ...] = ()
    """Near: the keys one character away (and the term's own); any of them matches."""
    like: str | None = None
    prefix: str = ""
    prefix_end: str | None = None


def plate_query(term: str, mode: SearchMode) -> PlateQuery:
    """Translate what a person typed into a query on the stored texts or keys.

    Anything other than letters, digits, separators and (outside exact mode) the two
    wildcards is kept as a literal, escaped, so ``%`` or ``_`` can never widen a search.
    """
    text = normalise(term)
    if not text or len(text) > 2 * MAX_PLATE:
        raise InvalidInput(f"give 1 to {2 * MAX_PLATE} characters of a plate", field="plate")
    column: Literal["text", "key", "reversed"] = "text"
    if mode == "near":
        if not is_plate_text(text):
            raise InvalidInput(
                "a near search takes a whole plate: 2 to 12 letters and digits, no wildcards",
                field="plate",
            )
        return PlateQuery(column="key", any_of=one_character_off(confusable_key(text)))
    if mode == "fuzzy":
        column, text = "key", confusable_key(text)
    if mode == "exact" or ("?" not in text and "*" not in text):
        return PlateQuery(column=column, equals=text)
    if text.replace("*", "") == "":
        raise InvalidInput("a pattern needs at least one letter or digit", field="plate")
    if column == "text" and not _literal_prefix(text) and _literal_prefix(text[::-1]):
        # "*3656": the end is what is known (a witness's partial plate); reversed, it is
        # a prefix again, served by the index on the reversed text.
        column, text = "reversed", text[::-1]
    prefix = _literal_prefix(text)
    return PlateQuery(
        column=column,
        like="".join("_" if c == "?" else "%" if c == "*" else _escape_like(c) for c in text),
        prefix=prefix,
        prefix_end=_upper_bound(prefix) if prefix else None,
    )


def _literal_prefix(text: str) -> str:
    """The plain letters and digits a pattern starts with."""
    prefix = ""
    for c in text:
        if c not in _ALPHABET:
            break
        prefix += c
    return prefix


_KEY_ALPHABET = "".join(sorted(set(confusable_key(_ALPHABET))))


def one_character_off(key: str) -> tuple[str, ...]:
    """``key`` and every key one character dropped, added or changed from it (sorted)."""
    near = {key}
    for index in range(len(key) + 1):
        head, tail = key[:index], key[index:]
        if tail:
            near.add(head + tail[1:])
        for c in _KEY_ALPHABET:
            near.add(head + c + tail)
            if tail:
                near.add(head + c + tail[1:])
    return tuple(sorted(k for k in near if len(k) >= 2))
