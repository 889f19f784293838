"""The deployment file (YAML): districts, sites, cameras and analytics options.

Validated strictly: unknown keys are refused and errors name the file, line
and field (see safecity.core.yamlfile). Loading does no other I/O.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.identity.permissions import Principal
from safecity.registry.models import Camera, District, Site
from safecity.registry.schemas import (
    CODE_PATTERN,
    CameraCreate,
    CameraUpdate,
    Latitude,
    Longitude,
    SiteCreate,
)
from safecity.registry.service import RegistryService


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DistrictSpec(_Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="URL name, e.g. peshawar")
    name: str = Field(min_length=1, description="Display name")
    province: str = Field("Khyber Pakhtunkhwa", description="Province or territory")
    latitude: Latitude
    longitude: Longitude


class MotionGate(_Strict):
    enabled: bool = Field(True, description="Send only regions with motion to the detector")
    min_area_fraction: float = Field(
        0.002, gt=0, lt=1, description="Smallest moving area, as a fraction of the frame"
    )


class AnalyticsOptions(_Strict):
    target_fps: float = Field(5, gt=0, le=30, description="Frames analysed per second per camera")
    decode: Literal["sub_stream", "main_stream"] = Field(
        "sub_stream", description="Which stream analytics decodes"
    )
    keyframes_only: bool = Field(False, description="Decode key frames only (cheapest)")
    motion_gate: MotionGate = Field(default_factory=MotionGate, description="Motion gating")
    detector_manifest: str | None = Field(
        None, description="Path of the detector model manifest; empty runs on motion regions"
    )


class DeploymentFile(_Strict):
    name: str = Field(pattern=CODE_PATTERN, description="Name of this deployment")
    districts: list[DistrictSpec] = Field(
        default_factory=list, description="Districts beyond the built-in KP list"
    )
    sites: list[SiteCreate] = Field(default_factory=list, description="Sites to create or keep")
    cameras: list[CameraCreate] = Field(default_factory=list, description="Cameras to register")
    analytics: AnalyticsOptions = Field(
        default_factory=AnalyticsOptions, description="Defaults for every camera's pipeline"
    )


def apply_deployment(
    session: Session, registry: RegistryService, principal: Principal, spec: DeploymentFile
) -> dict[str, int]:
    """Create what the file names and the database lacks; update cameras that differ.
    Sites already present are left as operators edited them."""
    counts = {"districts": 0, "sites": 0, "cameras_created": 0, "cameras_updated": 0}
    have = set(session.scalars(select(District.slug)))
    for d in spec.districts:
        if d.slug not in have:
            session.add(District(**d.model_dump()))
            counts["districts"] += 1
    session.flush()
    for site in spec.sites:
        if session.scalars(select(Site.id).where(Site.code == site.code)).first() is None:
            registry.create_site(session, principal, site)
            counts["sites"] += 1
    for camera in spec.cameras:
        existing = session.scalars(select(Camera).where(Camera.code == camera.code)).first()
        if existing is None:
            registry.create_camera(session, principal, camera)
            counts["cameras_created"] += 1
        else:
            before = existing.version
            changes = CameraUpdate.model_validate(camera.model_dump(exclude={"code"}))
            registry.update_camera(session, principal, existing.id, changes, expected_version=None)
            counts["cameras_updated"] += int(existing.version != before)
    return counts
