"""A camera's analytics configuration turned into rules: the settings reach the rules."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from safecity.analytics.rulebook import build_rules
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.vision.detections import Detections
from safecity.vision.rules import Firing, Rule

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


def still_frames(rule: Rule, class_id: int, seconds: float) -> list[Firing]:
    box = [[300, 200, 360, 260]]
    return [
        fired
        for index in range(int(seconds * 5))
        for fired in rule.update(
            T0 + timedelta(seconds=index / 5), Detections.create(box, [0.9], [class_id], [7])
        )
    ]


def test_object_left_watches_carried_objects_by_default() -> None:
    """A car waiting 13 s at a red light is no object left behind; a suitcase is."""
    left = {"kind": "object_left", "name": "left", "seconds": 5}
    street = ("person", "car", "suitcase")
    (rule,) = build_rules(config([left], detector="street"), 640, 360, street)
    assert still_frames(rule, street.index("car"), 13) == []
    (rule,) = build_rules(config([left], detector="street"), 640, 360, street)
    assert len(still_frames(rule, street.index("suitcase"), 13)) == 1
    vehicles = ("car", "van", "bus", "truck", "rickshaw", "motorcycle")
    (rule,) = build_rules(config([left], detector="sim-vehicles"), 640, 360, vehicles)
    assert still_frames(rule, 0, 13) == []


def test_a_class_the_detector_lacks_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    rules = [{"kind": "zone_intrusion", "name": "entry", "zone": "square", "classes": ["persn"]}]
    with caplog.at_level(logging.WARNING, logger="safecity.analytics.rulebook"):
        build_rules(config(rules, detector="street"), 640, 360, CLASSES)
    assert "rule 'entry': the detector has no class persn" in caplog.text
