"""Which recorded segments to delete. Pure: segments and policy in, a plan out.

Two rules, in order: a segment older than its retention period goes; then, if the
store is still over its quota, the oldest segments go until it is under. A segment
under legal hold never goes, whatever its age or the quota. When holds alone exceed
the quota the plan says so rather than deleting held evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class RetentionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    days_by_class: Mapping[str, int] = Field(
        default_factory=lambda: {"public": 30, "private": 30, "school": 15},
        description="Days continuous recordings are kept, by camera class (ownership)",
    )
    event_days: int = Field(90, ge=1, description="Days event recordings are kept")
    quota_bytes: int | None = Field(
        None, ge=1, description="Largest store size; oldest footage goes first beyond it"
    )


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
    if segment.kind == "event":
        return policy.event_days
    return policy.days_by_class.get(segment.camera_class, min(policy.days_by_class.values()))


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
