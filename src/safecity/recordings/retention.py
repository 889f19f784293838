"""Which recorded segments to delete. Pure: segments and policy in, a plan out.

Two rules, in order: a segment older than its retention period goes; then, if the
store is still over its quota, the oldest segments go until it is under. A segment
under legal hold never goes, whatever its age or the quota. When holds alone exceed
the quota the plan says so rather than deleting held evidence.

Periods are set per camera class (the camera's ownership: public, private,
school) and per kind of footage (continuous, or event recordings made around
motion and rule events), from the ``SAFECITY_RETENTION_*`` settings. A class
missing from a table keeps its footage for the shortest period in that table:
forgetting a class never keeps footage longer than anyone agreed to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from safecity.registry.models import OWNERSHIPS

MAX_RETENTION_DAYS = 3650


class RetentionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    days_by_class: Mapping[str, int] = Field(
        default_factory=lambda: {"public": 30, "private": 30, "school": 15},
        description="Days continuous recordings are kept, by camera class (ownership)",
    )
    event_days_by_class: Mapping[str, int] = Field(
        default_factory=lambda: {"public": 90, "private": 90, "school": 30},
        description="Days event recordings are kept, by camera class (ownership)",
    )
    quota_bytes: int | None = Field(
        None, ge=1, description="Largest store size; oldest footage goes first beyond it"
    )

    @field_validator("days_by_class", "event_days_by_class")
    @classmethod
    def _known_classes(cls, value: Mapping[str, int]) -> Mapping[str, int]:
        if not value:
            raise ValueError("give a number of days for at least one camera class")
        for name, days in value.items():
            if name not in OWNERSHIPS:
                raise ValueError(
                    f"unknown camera class {name!r}; the classes are {', '.join(OWNERSHIPS)}"
                )
            if not 1 <= days <= MAX_RETENTION_DAYS:
                raise ValueError(
                    f"{name}: keep footage between 1 and {MAX_RETENTION_DAYS} days, not {days}"
                )
        return dict(value)


@dataclass(frozen=True)
class SegmentFacts:
    id: int
    camera_class: str
    kind: str  # "continuous" or "event"
    started_at: datetime
    ended_at: datetime
    bytes: int
    legal_hold: bool


@dataclass
class RetentionPlan:
    expired: list[int] = field(default_factory=list)
    over_quota: list[int] = field(default_factory=list)
    bytes_freed: int = 0
    bytes_kept: int = 0
    held_bytes: int = 0
    quota_unreachable: bool = False

    @property
    def delete(self) -> list[int]:
        return self.expired + self.over_quota


def _keep_days(segment: SegmentFacts, policy: RetentionPolicy) -> int:
    table = policy.event_days_by_class if segment.kind == "event" else policy.days_by_class
    return table.get(segment.camera_class, min(table.values()))


def plan(segments: Iterable[SegmentFacts], policy: RetentionPolicy, now: datetime) -> RetentionPlan:
    result = RetentionPlan()
    survivors: list[SegmentFacts] = []
    for segment in sorted(segments, key=lambda s: (s.started_at, s.id)):
        if segment.legal_hold:
            result.held_bytes += segment.bytes
            survivors.append(segment)
        elif segment.ended_at < now - timedelta(days=_keep_days(segment, policy)):
            result.expired.append(segment.id)
            result.bytes_freed += segment.bytes
        else:
            survivors.append(segment)
    total = sum(s.bytes for s in survivors)
    if policy.quota_bytes is not None:
        for segment in survivors:  # oldest first
            if total <= policy.quota_bytes:
                break
            if segment.legal_hold:
                continue
            result.over_quota.append(segment.id)
            result.bytes_freed += segment.bytes
            total -= segment.bytes
        result.quota_unreachable = total > policy.quota_bytes
    result.bytes_kept = total
    return result
