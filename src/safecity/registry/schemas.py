"""Registry API shapes, one per direction, with validation that does no I/O."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from safecity.contracts.ingest import RecordingMode
from safecity.registry.models import (
    CAMERA_STATUSES,
    CODECS,
    OWNERSHIPS,
    POWER_SOURCES,
    ROLLOUT_STATUSES,
    SITE_TYPES,
)
from safecity.registry.streams import validate_stream_url

SiteType = Literal[SITE_TYPES]  # type: ignore[valid-type]
RolloutStatus = Literal[ROLLOUT_STATUSES]  # type: ignore[valid-type]
Ownership = Literal[OWNERSHIPS]  # type: ignore[valid-type]
CameraStatus = Literal[CAMERA_STATUSES]  # type: ignore[valid-type]
Codec = Literal[CODECS]  # type: ignore[valid-type]
PowerSource = Literal[POWER_SOURCES]  # type: ignore[valid-type]

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS84 latitude")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS84 longitude")]


def _lower(value: Any) -> Any:
    return (
        value.strip().lower().replace(" ", "_").replace("-", "_")
        if isinstance(value, str)
        else value
    )


Point = tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]]


class PrivacyMask(BaseModel):
    """A polygon in frame coordinates (0..1 from the top-left), blacked out for viewers."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    points: list[Point] = Field(min_length=3, max_length=64, description="Vertices, 0..1")
    label: str = Field("", max_length=100, description="Why this area is masked")


def _parse_masks(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"privacy_masks is not valid JSON: {exc.msg}") from exc
    if isinstance(value, list):
        return [{"points": item} if isinstance(item, list) else item for item in value]
    return value


Masks = Annotated[list[PrivacyMask], BeforeValidator(_parse_masks)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SiteCreate(_In):
    code: str = Field(pattern=CODE_PATTERN, description="Unique site code, e.g. PSH-S001")
    name: str = Field(min_length=1, max_length=200, description="Name people use for the place")
    district: str = Field(min_length=1, description="District slug, e.g. peshawar")
    site_type: Annotated[SiteType, BeforeValidator(_lower)] = Field(description="Kind of site")
    latitude: Latitude
    longitude: Longitude
    phase: int = Field(1, ge=1, le=20, description="Roll-out phase")
    rollout_status: Annotated[RolloutStatus, BeforeValidator(_lower)] = Field(
        "planned", description="planned, surveyed, installed, live or decommissioned"
    )
    power_source: Annotated[PowerSource, BeforeValidator(_lower)] = Field(
        "grid", description="grid, solar or hybrid"
    )
    address: str = Field("", max_length=300, description="Street address or landmark")


class SiteUpdate(_In):
    name: str | None = Field(None, min_length=1, max_length=200, description="Site name")
    site_type: Annotated[SiteType | None, BeforeValidator(_lower)] = Field(None, description="Kind")
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    phase: int | None = Field(None, ge=1, le=20, description="Roll-out phase")
    rollout_status: Annotated[RolloutStatus | None, BeforeValidator(_lower)] = Field(
        None, description="Roll-out status"
    )
    power_source: Annotated[PowerSource | None, BeforeValidator(_lower)] = Field(
        None, description="grid, solar or hybrid"
    )
    address: str | None = Field(None, max_length=300, description="Street address or landmark")


def _resolution(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        match = re.fullmatch(r"(\d{2,5})\s*[x\u00d7]\s*(\d{2,5})", text)
        if not match:
            raise ValueError("resolution must look like 1920x1080")
        width, height = int(match.group(1)), int(match.group(2))
        if not (160 <= width <= 16384 and 120 <= height <= 16384):
            raise ValueError("resolution must be between 160x120 and 16384x16384")
        return (width, height)
    return value


def _stream(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            return None
        return validate_stream_url(value)
    return value


def _boolish(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "no", "n", "false", "0"):
            return False
        if text in ("yes", "y", "true", "1"):
            return True
    return value


Resolution = Annotated[tuple[int, int] | None, BeforeValidator(_resolution)]
StreamUrl = Annotated[str | None, BeforeValidator(_stream)]


class CameraFields(_In):
    name: str = Field(min_length=1, max_length=200, description="Camera name shown to operators")
    ownership: Annotated[Ownership, BeforeValidator(_lower)] = Field(
        "public", description="public, private or school"
    )
    owner: str | None = Field(None, max_length=200, description="Owner's name (created if new)")
    vendor: str = Field("", max_length=120, description="Supplier/integrator")
    make: str = Field("", max_length=120, description="Manufacturer")
    model: str = Field("", max_length=120, description="Model")
    main_stream_url: StreamUrl = Field(None, description="Main stream URL; stored encrypted")
    sub_stream_url: StreamUrl = Field(None, description="Sub stream URL; stored encrypted")
    resolution: Resolution = Field(None, description="Width x height of the main stream")
    fps: int | None = Field(None, ge=1, le=120, description="Frames per second")
    codec: Annotated[Codec, BeforeValidator(_lower)] = Field("h264", description="Video codec")
    recording_mode: Annotated[RecordingMode, BeforeValidator(_lower)] = Field(
        "continuous", description="continuous, events (around motion and rule events) or off"
    )
    ptz: Annotated[bool, BeforeValidator(_boolish)] = Field(False, description="Pan-tilt-zoom")
    purpose: str = Field("", max_length=300, description="Why this camera watches this place")
    legal_basis: str = Field("", max_length=300, description="Law or agreement it runs under")
    privacy_masks: Masks = Field(default_factory=list, description="Masked areas")
    status: Annotated[CameraStatus, BeforeValidator(_lower)] = Field(
        "planned", description="planned, installed, online, offline, maintenance, decommissioned"
    )
    latitude: Latitude | None = None
    longitude: Longitude | None = None

    @model_validator(mode="after")
    def _private_needs_owner(self) -> CameraFields:
        if self.ownership != "public" and not self.owner:
            raise ValueError(f"a {self.ownership} camera needs an owner")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class CameraCreate(CameraFields):
    code: str = Field(pattern=CODE_PATTERN, description="Unique camera code, e.g. PSH-C0001")
    site: str = Field(min_length=1, description="Code of the site the camera stands at")


class CameraUpdate(_In):
    name: str | None = Field(None, min_length=1, max_length=200, description="Camera name")
    ownership: Annotated[Ownership | None, BeforeValidator(_lower)] = Field(None, description="")
    owner: str | None = Field(None, max_length=200, description="Owner's name")
    vendor: str | None = Field(None, max_length=120, description="Supplier/integrator")
    make: str | None = Field(None, max_length=120, description="Manufacturer")
    model: str | None = Field(None, max_length=120, description="Model")
    main_stream_url: StreamUrl = Field(None, description="New main stream URL (empty: keep)")
    sub_stream_url: StreamUrl = Field(None, description="New sub stream URL (empty: keep)")
    resolution: Resolution = Field(None, description="Width x height")
    fps: int | None = Field(None, ge=1, le=120, description="Frames per second")
    codec: Annotated[Codec | None, BeforeValidator(_lower)] = Field(None, description="Codec")
    recording_mode: Annotated[RecordingMode | None, BeforeValidator(_lower)] = Field(
        None, description="continuous, events or off"
    )
    ptz: Annotated[bool | None, BeforeValidator(_boolish)] = Field(None, description="PTZ")
    purpose: str | None = Field(None, max_length=300, description="Purpose")
    legal_basis: str | None = Field(None, max_length=300, description="Legal basis")
    privacy_masks: Masks | None = Field(None, description="Masked areas (replaces all)")
    status: Annotated[CameraStatus | None, BeforeValidator(_lower)] = Field(None, description="")
    site: str | None = Field(None, description="Move to the site with this code")
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class DistrictPublic(BaseModel):
    slug: str
    name: str
    province: str
    latitude: float
    longitude: float
    sites: int
    cameras: int
    cameras_online: int


class SitePublic(BaseModel):
    id: int
    code: str
    name: str
    district: str
    site_type: str
    latitude: float
    longitude: float
    phase: int
    rollout_status: str
    power_source: str
    address: str
    cameras: int
    version: int
    updated_at: datetime


class CameraPublic(BaseModel):
    id: int
    code: str
    name: str
    site: str
    site_name: str
    district: str
    ownership: str
    owner: str | None
    vendor: str
    make: str
    model: str
    main_stream: str = Field(description="Host and path only; credentials are never returned")
    sub_stream: str = Field(description="Host and path only; credentials are never returned")
    has_main_stream: bool
    has_sub_stream: bool
    resolution: str | None
    fps: int | None
    codec: str
    recording_mode: str = Field(description="continuous, events or off")
    ptz: bool
    purpose: str
    legal_basis: str
    privacy_masks: list[PrivacyMask]
    status: str
    latitude: float
    longitude: float
    version: int
    updated_at: datetime

    @field_validator("privacy_masks", mode="before")
    @classmethod
    def _masks(cls, value: Any) -> Any:
        return _parse_masks(value)


class ImportProblem(BaseModel):
    row: int = Field(description="Row number in the file (the CSV header is row 1)")
    field: str | None
    message: str


class ImportReport(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    sites_created: int = 0
    problems: list[ImportProblem] = Field(default_factory=list)

    @property
    def failed(self) -> int:
        return len({problem.row for problem in self.problems})
