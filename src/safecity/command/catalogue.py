"""Incident types, priorities and unit kinds as data: a deployment may replace the
default catalogue with a YAML file (``SAFECITY_INCIDENT_CATALOGUE``) without a release.

Each incident type names the agency that answers it and the capability a unit needs
to be recommended for it; each unit kind names its agency, capabilities and the
speed used for straight-line travel estimates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from safecity.core.errors import InvalidInput
from safecity.core.yamlfile import load_yaml_model

SLUG = r"^[a-z][a-z0-9_-]{0,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityLevel(_Strict):
    level: int = Field(ge=1, le=9, description="1 is the most urgent.")
    label: str = Field(min_length=1, max_length=60, description="Shown to dispatchers.")
    target_response_seconds: int = Field(
        gt=0, description="Create-to-on-scene goal for this priority (KPI reference line)."
    )


class IncidentType(_Strict):
    code: str = Field(pattern=SLUG, description="Stable key stored on incidents.")
    label: str = Field(min_length=1, max_length=80, description="Shown on forms and lists.")
    agency: str = Field(pattern=SLUG, description="Slug of the agency that answers this type.")
    default_priority: int = Field(ge=1, le=9, description="Priority proposed on the form.")
    capability: str = Field(
        pattern=SLUG, description="Capability a unit must have to be recommended."
    )


class UnitKind(_Strict):
    code: str = Field(pattern=SLUG, description="Stable key stored on units.")
    label: str = Field(min_length=1, max_length=80, description="Shown on the roster.")
    agency: str = Field(pattern=SLUG, description="Slug of the agency that runs such units.")
    capabilities: list[str] = Field(description="What such a unit can answer by default.")
    speed_kmh: float = Field(gt=0, le=200, description="Average speed for travel estimates.")


class Catalogue(_Strict):
    priorities: list[PriorityLevel] = Field(min_length=1, description="Priority levels.")
    incident_types: list[IncidentType] = Field(min_length=1, description="Incident types.")
    unit_kinds: list[UnitKind] = Field(min_length=1, description="Kinds of field unit.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        levels = {p.level for p in self.priorities}
        for kind in (
            ("priority", [p.level for p in self.priorities]),
            ("incident type", [t.code for t in self.incident_types]),
            ("unit kind", [u.code for u in self.unit_kinds]),
        ):
            name, keys = kind
            if len(set(keys)) != len(keys):
                raise ValueError(f"{name} keys must be unique")
        for t in self.incident_types:
            if t.default_priority not in levels:
                raise ValueError(f"type {t.code}: default priority {t.default_priority} unknown")
        return self

    def incident_type(self, code: str) -> IncidentType:
        for t in self.incident_types:
            if t.code == code:
                return t
        known = ", ".join(t.code for t in self.incident_types)
        raise InvalidInput(f"unknown incident type '{code}' (known: {known})", field="type")

    def unit_kind(self, code: str) -> UnitKind:
        for u in self.unit_kinds:
            if u.code == code:
                return u
        known = ", ".join(u.code for u in self.unit_kinds)
        raise InvalidInput(f"unknown unit kind '{code}' (known: {known})", field="kind")

    def check_priority(self, level: int) -> int:
        if level not in {p.level for p in self.priorities}:
            raise InvalidInput(f"unknown priority {level}", field="priority")
        return level


def _t(code: str, label: str, agency: str, priority: int, capability: str) -> IncidentType:
    return IncidentType(
        code=code, label=label, agency=agency, default_priority=priority, capability=capability
    )


def default_catalogue() -> Catalogue:
    """What a KP installation starts with (police 15, Rescue 1122 for fire and medical)."""
    return Catalogue(
        priorities=[
            PriorityLevel(level=1, label="P1 life at risk", target_response_seconds=7 * 60),
            PriorityLevel(level=2, label="P2 urgent", target_response_seconds=15 * 60),
            PriorityLevel(level=3, label="P3 routine", target_response_seconds=45 * 60),
            PriorityLevel(level=4, label="P4 not urgent", target_response_seconds=4 * 3600),
        ],
        incident_types=[
            _t("robbery", "Robbery / snatching", "kp-police", 1, "patrol"),
            _t("assault", "Assault / fight", "kp-police", 1, "patrol"),
            _t("firing", "Aerial or targeted firing", "kp-police", 1, "patrol"),
            _t("theft", "Theft (vehicle, property)", "kp-police", 3, "patrol"),
            _t("suspicious", "Suspicious person or vehicle", "kp-police", 2, "patrol"),
            _t("hotlist", "Hotlist vehicle sighted", "kp-police", 2, "patrol"),
            _t("harassment", "Harassment of women", "kp-police", 2, "patrol"),
            _t("traffic_accident", "Road traffic accident", "rescue-1122", 1, "medical"),
            _t("traffic_jam", "Traffic blockage", "traffic-police", 3, "traffic"),
            _t("medical", "Medical emergency", "rescue-1122", 1, "medical"),
            _t("fire", "Fire", "rescue-1122", 1, "fire"),
            _t("other", "Other", "kp-police", 3, "patrol"),
        ],
        unit_kinds=[
            UnitKind(
                code="police_mobile",
                label="Police mobile",
                agency="kp-police",
                capabilities=["patrol"],
                speed_kmh=35,
            ),
            UnitKind(
                code="motorcycle_squad",
                label="Motorcycle squad (Abaseen Force)",
                agency="kp-police",
                capabilities=["patrol"],
                speed_kmh=40,
            ),
            UnitKind(
                code="traffic_warden",
                label="Traffic warden",
                agency="traffic-police",
                capabilities=["traffic"],
                speed_kmh=30,
            ),
            UnitKind(
                code="ambulance",
                label="Rescue 1122 ambulance",
                agency="rescue-1122",
                capabilities=["medical"],
                speed_kmh=40,
            ),
            UnitKind(
                code="fire",
                label="Rescue 1122 fire vehicle",
                agency="rescue-1122",
                capabilities=["fire"],
                speed_kmh=30,
            ),
        ],
    )


def load_catalogue(path: Path | None) -> Catalogue:
    """The file's catalogue (errors name file and line), or the default one."""
    if path is None:
        return default_catalogue()
    return load_yaml_model(path, Catalogue)
