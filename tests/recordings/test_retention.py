"""Retention: expired footage goes, the oldest goes first over quota, held evidence never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from safecity.recordings.retention import RetentionPolicy, SegmentFacts, plan

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def seg(
    id: int,
    days_old: float,
    *,
    cls: str = "public",
    kind: str = "continuous",
    size: int = 100,
    hold: bool = False,
) -> SegmentFacts:
    start = NOW - timedelta(days=days_old)
    return SegmentFacts(id, cls, kind, start, start + timedelta(seconds=10), size, hold)


@pytest.mark.parametrize(
    ("segments", "policy", "expired", "over_quota"),
    [
        ([seg(1, 31), seg(2, 29)], RetentionPolicy(), [1], []),
        # Schools keep 15 days, private cameras 30.
        ([seg(1, 16, cls="school"), seg(2, 16, cls="private")], RetentionPolicy(), [1], []),
        # Event footage lives longer than continuous footage.
        ([seg(1, 60, kind="event"), seg(2, 60)], RetentionPolicy(), [2], []),
        # Legal hold outlives every period.
        ([seg(1, 400, hold=True)], RetentionPolicy(), [], []),
        # Over quota: the oldest goes first, until the rest fits.
        ([seg(1, 3), seg(2, 2), seg(3, 1)], RetentionPolicy(quota_bytes=150), [], [1, 2]),
        # ... but never the held one, even if it is the oldest.
        ([seg(1, 3, hold=True), seg(2, 2), seg(3, 1)], RetentionPolicy(quota_bytes=200), [], [2]),
    ],
    ids=[
        "expired",
        "by-class",
        "events-longer",
        "hold-forever",
        "quota-oldest-first",
        "quota-skips-hold",
    ],
)
def test_plan(
    segments: list[SegmentFacts],
    policy: RetentionPolicy,
    expired: list[int],
    over_quota: list[int],
) -> None:
    result = plan(segments, policy, NOW)
    assert (result.expired, result.over_quota) == (expired, over_quota)
    assert not result.quota_unreachable


def test_holds_alone_over_quota_are_reported_not_deleted() -> None:
    result = plan(
        [seg(1, 5, hold=True, size=500), seg(2, 1)], RetentionPolicy(quota_bytes=200), NOW
    )
    assert result.delete == [2]
    assert result.quota_unreachable
    assert result.held_bytes == 500
