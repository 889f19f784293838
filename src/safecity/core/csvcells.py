"""Guarding CSV cells against formula injection, and reading a guarded cell back.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return, which some of them skip before one) as a formula, so a hotlist
reason such as ``=HYPERLINK(...)`` would turn into a live link, or worse, in the
analyst's spreadsheet. Every CSV export writes such a text cell behind an apostrophe,
which spreadsheets show as plain text.

The guard is exactly reversible, so a file exported and imported again gives back the
values it started with: a text that already begins with apostrophes followed by a
formula character gets one apostrophe more, and ``unguard_cell`` takes one away from
any cell of that shape. Cells of any other shape are never changed in either direction.
"""

from __future__ import annotations

from typing import TypeVar

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"

T = TypeVar("T")


def _formula_after_apostrophes(text: str) -> bool:
    return text.lstrip(GUARD).startswith(FORMULA_STARTS)


def guard_cell(value: T) -> T | str:
    """``value`` as a CSV cell that no spreadsheet runs as a formula; non-text passes as is."""
    if isinstance(value, str) and _formula_after_apostrophes(value):
        return GUARD + value
    return value


def unguard_cell(text: str) -> str:
    """The value ``guard_cell`` was given, from the cell it wrote (inverse of the guard)."""
    if text.startswith(GUARD) and _formula_after_apostrophes(text):
        return text[len(GUARD) :]
    return text
