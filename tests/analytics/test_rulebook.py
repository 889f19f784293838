"""A camera's analytics configuration turned into rules: the settings reach the rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from safecity.analytics.rulebook import build_rules
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.vision.detections import Detections

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
CLASSES = ("person", "car")


def config(rules: list[dict[str, Any]], **extra: Any) -> CameraAnalyticsConfig:
    return CameraAnalyticsConfig.model_validate(
        {
            "enabled": True,
            "zones": [{"name": "square", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]}],
            "rules": rules,
            **extra,
        }
    )


def people(count: int) -> Detections:
    boxes = [[100 + 40 * i, 100, 130 + 40 * i, 180] for i in range(count)]
    return Detections.create(boxes, [0.9] * count, [0] * count, list(range(1, count + 1)))


def test_a_crowd_rule_holds_and_rearms_by_default() -> None:
    """Threshold 3 with one person missed every third frame for a minute: one event, not
    one each time the count comes back to three."""
    (rule,) = build_rules(
        config([{"kind": "crowd", "name": "crowd", "zone": "square", "threshold": 3}]),
        640,
        360,
        CLASSES,
    )
    fired = [
        fired
        for index in range(300)
        for fired in rule.update(T0 + timedelta(seconds=index / 5), people(2 + (index % 3 != 2)))
    ]
    assert len(fired) == 1
