"""When a solar site needs attention: table-driven over reading sequences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from safecity.registry.power_rules import (
    LINK_DOWN,
    LOW_BATTERY,
    NO_CHARGE,
    PowerThresholds,
    Reading,
    conditions,
)

T = PowerThresholds()
# 12:00 PKT is 07:00 UTC; 22:00 PKT is 17:00 UTC.
NOON_PKT = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
NIGHT_PKT = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)


def series(
    start: datetime, minutes: int, *, soc: float = 80, solar: float = 300, link: bool = True
) -> list[Reading]:
    return [
        Reading(start + timedelta(minutes=m), soc, solar, link) for m in range(0, minutes + 1, 5)
    ]


@pytest.mark.parametrize(
    ("readings", "open_kinds", "expected"),
    [
        (series(NOON_PKT, 60), set(), set()),
        (series(NOON_PKT, 60, soc=20), set(), {LOW_BATTERY}),
        # Hysteresis: 27 % opens nothing, but keeps an open alert open until 30 %.
        (series(NOON_PKT, 60, soc=27), set(), set()),
        (series(NOON_PKT, 60, soc=27), {LOW_BATTERY}, {LOW_BATTERY}),
        (series(NOON_PKT, 60, soc=31), {LOW_BATTERY}, set()),
        (series(NOON_PKT, 60, link=False), set(), {LINK_DOWN}),
        # A dead panel at noon for an hour: no charge by day.
        (series(NOON_PKT, 60, solar=2), set(), {NO_CHARGE}),
        # Only 20 minutes of evidence is not enough to judge.
        (series(NOON_PKT + timedelta(minutes=40), 20, solar=2), set(), set()),
        # At night no solar input is normal.
        (series(NIGHT_PKT, 60, solar=0), set(), set()),
        ([], set(), set()),
    ],
    ids=[
        "healthy",
        "low",
        "27-stays-closed",
        "27-stays-open",
        "recovered",
        "link-down",
        "no-charge",
        "too-little-evidence",
        "night",
        "no-readings",
    ],
)
def test_conditions(readings: list[Reading], open_kinds: set[str], expected: set[str]) -> None:
    assert {c.kind for c in conditions(readings, open_kinds=open_kinds, t=T)} == expected


def test_no_charge_needs_every_sample_dark() -> None:
    readings = series(NOON_PKT, 60, solar=2)
    readings[5] = Reading(readings[5].at, 80, 250, True)  # one sunny sample in the hour
    assert conditions(readings, open_kinds=set(), t=T) == []
