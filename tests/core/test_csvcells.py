"""The one CSV formula guard of every export: a cell a spreadsheet would run is written as
text, and the import reads the guarded cell back as the value it was."""

from __future__ import annotations

import pytest

from safecity.core.csvcells import guard_cell, unguard_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        # Already behind apostrophes: one more, so that the import's one less is exact.
        ("'=1", "''=1"),
        ("''+1", "'''+1"),
        # Nothing a spreadsheet runs: left alone.
        ("Plain text", "Plain text"),
        ("'quoted'", "'quoted'"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_text_a_spreadsheet_would_run_is_guarded_and_reads_back(value: str, cell: str) -> None:
    assert guard_cell(value) == cell
    assert unguard_cell(cell) == value


@pytest.mark.parametrize("value", [7, -3, 1.5, None, True])
def test_values_that_are_not_text_pass_unchanged(value: object) -> None:
    assert guard_cell(value) is value


@pytest.mark.parametrize("typed", ["'abc", "'", "''", "it's", "'x y"])
def test_typed_cells_that_no_guard_wrote_are_read_as_typed(typed: str) -> None:
    assert unguard_cell(typed) == typed
