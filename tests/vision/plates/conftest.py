"""One reader per rule set for the whole session: the OCR models load once (about a second)."""

from __future__ import annotations

import pytest

from safecity.vision.plates import FormatRules, PlateReader


@pytest.fixture(scope="session")
def pk_reader() -> PlateReader:
    return PlateReader(rules=FormatRules.default())


@pytest.fixture(scope="session")
def us_reader() -> PlateReader:
    return PlateReader(rules=FormatRules.builtin("us"))


@pytest.fixture(scope="session")
def br_reader() -> PlateReader:
    return PlateReader(rules=FormatRules.builtin("br"))
