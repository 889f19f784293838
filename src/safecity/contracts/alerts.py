"""Something an operator must look at: the one message every alert source publishes.

Sources decide *what* deserves attention (a hotlist hit, a rule event, a camera
gone dark, a site's battery running out, a simulated drill); the command centre
decides *who* sees it (the operators of the district) and keeps its lifecycle
(acknowledge, escalate, dismiss, incident). Alerts with the same
``correlation_key`` close together in time become one alert with a count.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Literal, Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from safecity.contracts.base import Message
from safecity.contracts.ingest import CAMERA_ID_PATTERN
from safecity.contracts.media import MediaPath

AlertSource = Literal["hotlist", "analytics", "health", "power", "simulator", "api"]


class AlertRaised(Message):
    """A new alert, or one more occurrence of an alert already open."""

    subject: ClassVar[str] = "events.alert.raised"
    schema_version: ClassVar[int] = 1

    source: AlertSource = Field(description="Which part of the system raised it.")
    kind: str = Field(
        pattern=r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*$",
        max_length=60,
        description="What happened, dotted: 'hotlist.stolen', 'analytics.zone_intrusion', "
        "'health.offline', 'power.low_battery'.",
    )
    priority: int = Field(ge=1, le=5, description="1 is the most urgent, 5 the least.")
    title: str = Field(min_length=1, max_length=160, description="One line for the queue.")
    detail: str = Field(default="", max_length=2000, description="What the operator should know.")
    at: AwareDatetime = Field(description="When it happened (UTC).")
    camera_id: str | None = Field(
        default=None, pattern=CAMERA_ID_PATTERN, description="Camera code, when a camera saw it."
    )
    site_code: str | None = Field(
        default=None, max_length=64, description="Site code, when a site reported it."
    )
    district: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9-]{1,64}$",
        description="District slug; needed when neither a camera nor a site names the place.",
    )
    latitude: float | None = Field(default=None, ge=-90, le=90, description="WGS84 latitude.")
    longitude: float | None = Field(default=None, ge=-180, le=180, description="WGS84 longitude.")
    correlation_key: str = Field(
        min_length=1,
        max_length=120,
        description="Alerts with the same key inside the correlation window become one "
        "alert with a count: 'plate:LEB3656', 'camera:PSH-001:zone_intrusion:gate'.",
    )
    snapshot: MediaPath | None = Field(default=None, description="JPEG of the scene.")
    plate_crop: MediaPath | None = Field(default=None, description="JPEG of the plate.")
    plate_text: str | None = Field(
        default=None, pattern=r"^[A-Z0-9]{2,12}$", description="The plate read, if any."
    )
    reference: dict[str, str] = Field(
        default_factory=dict,
        description="Ids of what raised it, for the jump back: {'plate_read': '42', "
        "'hotlist_entry': '7'}.",
    )

    @field_validator("at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _has_a_place(self) -> Self:
        if self.camera_id is None and self.site_code is None and self.district is None:
            raise ValueError("an alert needs a camera, a site or a district")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude come together")
        return self
