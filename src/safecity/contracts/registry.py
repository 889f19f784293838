"""Registry facts other processes react to: a camera or a site was created, changed or removed.

These travel on general subjects, so they carry descriptions only: never a
stream URL, a user name or a password. A worker that needs a camera's stream
asks for it on the access-controlled path (DESIGN.md, "Package layout").
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from safecity.contracts.base import Message

Change = Literal["created", "updated", "deleted"]

_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class CameraChanged(Message):
    """A camera was created, updated or deleted in the registry."""

    subject: ClassVar[str] = "registry.camera.changed"
    schema_version: ClassVar[int] = 1

    change: Change = Field(description="What happened to the camera.")
    camera_id: int = Field(ge=1, description="Registry id of the camera.")
    code: str = Field(min_length=1, max_length=40, description="Unique camera code.")
    district: str = Field(
        min_length=1, max_length=80, pattern=_SLUG, description="Slug of the camera's district."
    )
    site_code: str | None = Field(
        None, max_length=40, description="Code of the site the camera is mounted at, if any."
    )
    name: str = Field(max_length=200, description="Human-readable camera name.")
    ownership: str = Field(
        min_length=1, max_length=20, description="Who owns it: public, private, school, ..."
    )
    status: str = Field(
        min_length=1, max_length=20, description="Lifecycle status: planned, live, offline, ..."
    )
    has_main_stream: bool = Field(
        description="A main stream is configured (its URL is never sent on this subject)."
    )
    has_sub_stream: bool = Field(
        description="A sub stream is configured (its URL is never sent on this subject)."
    )
    privacy_mask_count: int = Field(
        ge=0, description="Number of privacy masks that must be applied to this camera's video."
    )


class SiteChanged(Message):
    """A site (a pole, junction or building hosting cameras) was created, updated or deleted."""

    subject: ClassVar[str] = "registry.site.changed"
    schema_version: ClassVar[int] = 1

    change: Change = Field(description="What happened to the site.")
    site_id: int = Field(ge=1, description="Registry id of the site.")
    code: str = Field(min_length=1, max_length=40, description="Unique site code.")
    district: str = Field(
        min_length=1, max_length=80, pattern=_SLUG, description="Slug of the site's district."
    )
    name: str = Field(max_length=200, description="Human-readable site name.")
    site_type: str = Field(
        min_length=1, max_length=40, description="Kind of site: junction, market, school, ..."
    )
    rollout_status: str = Field(
        min_length=1, max_length=20, description="Deployment progress: planned, installed, live..."
    )
    latitude: float = Field(ge=-90, le=90, description="WGS84 latitude in degrees.")
    longitude: float = Field(ge=-180, le=180, description="WGS84 longitude in degrees.")
