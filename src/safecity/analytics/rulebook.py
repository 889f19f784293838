"""Turn a camera's analytics configuration into rule state machines for one frame size."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from safecity.contracts.analytics_config import (
    CARRIED_OBJECT_CLASSES,
    MOTION_CLASS,
    CameraAnalyticsConfig,
    CrowdRule,
    LineConfig,
    LineCrossingRule,
    LoiteringRule,
    ObjectLeftRule,
    RuleConfig,
    StoppedVehicleRule,
    WrongWayRule,
    ZoneConfig,
    ZoneIntrusionRule,
)
from safecity.vision.motion import MOTION_CLASS_ID
from safecity.vision.rules import (
    ClassFilter,
    Crowd,
    LineCrossing,
    Loitering,
    ObjectLeft,
    Rule,
    StoppedVehicle,
    WrongWay,
    ZoneIntrusion,
)
from safecity.vision.rules.crossing import MIN_STEPS
from safecity.vision.zones import Polygon, Tripwire

log = logging.getLogger(__name__)


def class_name(class_id: int, classes: Sequence[str]) -> str:
    if class_id == MOTION_CLASS_ID or not 0 <= class_id < len(classes):
        return MOTION_CLASS
    return classes[class_id]


def _classes(rule: RuleConfig, classes: Sequence[str]) -> ClassFilter:
    names = rule.classes
    if not names and isinstance(rule, ObjectLeftRule):
        # Left behind means carried and set down: a car at a red light is not.
        names = tuple(name for name in CARRIED_OBJECT_CLASSES if name in classes)
    elif not names:
        return ClassFilter()
    unknown = sorted(set(names) - set(classes) - {MOTION_CLASS})
    if classes and unknown:
        # The configuration service refuses these; a configuration stored before it did,
        # or a detector replaced since, still reaches here.
        log.warning(
            "rule %r: the detector has no class %s; the rule watches the rest",
            rule.name,
            ", ".join(unknown),
        )
    # Without a detector every object is a motion region: a class filter would
    # silence the rule, so motion regions always count.
    ids = {classes.index(name) for name in names if name in classes}
    return ClassFilter(frozenset(ids | {MOTION_CLASS_ID}))


def _polygon(zone: ZoneConfig, width: int, height: int) -> Polygon:
    return Polygon(tuple((x * width, y * height) for x, y in zone.points))


def _line(line: LineConfig, width: int, height: int) -> Tripwire:
    return Tripwire(
        (line.start[0] * width, line.start[1] * height),
        (line.end[0] * width, line.end[1] * height),
    )


def build_rules(
    config: CameraAnalyticsConfig, width: int, height: int, classes: Sequence[str]
) -> list[Rule]:
    """One state machine per configured rule, with coordinates in this frame size's pixels."""
    zones = {zone.name: _polygon(zone, width, height) for zone in config.zones}
    lines = {line.name: _line(line, width, height) for line in config.lines}
    frame = (width, height)
    return [
        _build(rule, zones, lines, classes, frame, config.analysed_fps) for rule in config.rules
    ]


def _build(  # noqa: PLR0911 - one return per rule kind of a closed union
    rule: RuleConfig,
    zones: dict[str, Polygon],
    lines: dict[str, Tripwire],
    classes: Sequence[str],
    frame: tuple[int, int],
    fps: float,
) -> Rule:
    watch = _classes(rule, classes)
    # Movement thresholds scale with the frame: 1.2 % of its width.
    still = max(4.0, 0.012 * frame[0])
    match rule:
        case ZoneIntrusionRule():
            return ZoneIntrusion(rule.name, zones[rule.zone], watch)
        case LoiteringRule():
            return Loitering(rule.name, zones[rule.zone], rule.seconds, watch)
        case CrowdRule():
            zone = zones[rule.zone] if rule.zone else None
            return Crowd(
                rule.name,
                zone,
                rule.threshold,
                watch,
                hold_seconds=rule.hold_seconds,
                rearm_seconds=rule.rearm_seconds,
            )
        case LineCrossingRule():
            return LineCrossing(rule.name, lines[rule.line], watch)
        case WrongWayRule():
            zone = zones[rule.zone] if rule.zone else None
            return WrongWay(
                rule.name,
                zone,
                lines[rule.line],
                frame_size=frame,
                min_distance=3 * still,
                # Two seconds, or longer at a low frame rate, so that the movement is
                # judged on several steps.
                window_seconds=max(2.0, (MIN_STEPS + 1) / fps),
                tolerance_degrees=rule.tolerance_degrees,
                classes=watch,
            )
        case StoppedVehicleRule():
            return StoppedVehicle(
                rule.name, zones[rule.zone], rule.seconds, max_movement=still, classes=watch
            )
        case ObjectLeftRule():
            zone = zones[rule.zone] if rule.zone else None
            return ObjectLeft(rule.name, zone, rule.seconds, max_movement=still, classes=watch)
    raise ValueError(f"unknown rule kind {rule!r}")  # pragma: no cover - the union is closed
