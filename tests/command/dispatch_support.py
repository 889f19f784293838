"""Helpers for the incident, unit, dispatch and KPI tests: a small roster in Peshawar
and Bannu, users of each dispatch role, and request shortcuts."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safecity.command.units_schemas import UnitCreate
from safecity.core.clock import utcnow
from safecity.identity import passwords
from safecity.identity.system import system_principal
from safecity.web.platform import Platform
from tests.factories import make_user, token_for

# Peshawar: Saddar (34.000, 71.545), University Town (34.010, 71.510), Hayatabad (33.990, 71.440).
ROSTER = (
    ("PSH-M1", "police_mobile", "peshawar", 34.0010, 71.5450),
    ("PSH-M2", "police_mobile", "peshawar", 34.0100, 71.5100),
    ("PSH-B1", "motorcycle_squad", "peshawar", 33.9900, 71.4400),
    ("PSH-R1", "ambulance", "peshawar", 34.0050, 71.5300),
    ("BNU-M1", "police_mobile", "bannu", 32.9860, 70.6040),
)


@dataclass
class Desk:
    """Tokens of a call taker, two dispatchers, a supervisor and a field unit per unit."""

    platform: Platform
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", "X-Purpose": "test", **extra}

    def call(self, who: str, method: str, url: str, **kwargs: Any) -> Any:
        extra = kwargs.pop("headers", {})
        return self.client.request(method, url, headers=self.headers(who, **extra), **kwargs)

    def new_incident(self, who: str = "call_taker", **overrides: Any) -> dict[str, Any]:
        body = {
            "district": "peshawar",
            "type": "robbery",
            "latitude": 34.0,
            "longitude": 71.54,
            "landmark": "Near Khyber Bazaar",
            "caller_number": "0300-1234567",
            "narrative": "Mobile phone snatched at gunpoint",
        } | overrides
        response = self.call(who, "POST", "/api/v1/incidents", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def fix(self, callsign: str, lat: float, lon: float, at: datetime | None = None) -> Any:
        at = at or utcnow()
        return self.call(
            callsign,
            "POST",
            f"/api/v1/units/{self.units[callsign]}/positions",
            json={"recorded_at": at.isoformat(), "latitude": lat, "longitude": lon},
        )

    def status(self, callsign: str, status: str, **extra: Any) -> Any:
        return self.call(
            callsign,
            "POST",
            f"/api/v1/units/{self.units[callsign]}/status",
            json={"status": status, **extra},
        )


_hash_once = functools.cache(passwords.hash_password)


def one_hash_per_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each desk makes a dozen accounts with one password: hash it once per session (as
    tests/api/conftest.py does); hashes stay real argon2 and sign-in still verifies them."""
    monkeypatch.setattr(passwords, "hash_password", _hash_once)


def build_desk(platform: Platform, client: TestClient) -> Desk:
    desk = Desk(platform, client)
    for who, roles, districts in (
        ("call_taker", ["call_taker"], ["peshawar"]),
        ("dispatcher", ["operator"], ["peshawar"]),
        ("dispatcher2", ["operator"], ["peshawar"]),
        ("supervisor", ["supervisor"], ["peshawar"]),
        ("bannu_operator", ["operator"], ["bannu"]),
        ("auditor", ["auditor"], ["peshawar"]),
    ):
        make_user(platform, f"desk-{who}", roles, districts=districts)
        desk.tokens[who] = token_for(platform, f"desk-{who}")
    admin = system_principal("tests")
    for callsign, kind, district, lat, lon in ROSTER:
        username = f"unit-{callsign.lower()}"
        make_user(platform, username, ["field_unit"], districts=[district])
        desk.tokens[callsign] = token_for(platform, username)
        with platform.transaction() as session:
            unit = platform.units.create(
                session,
                admin,
                UnitCreate(callsign=callsign, kind=kind, district=district, username=username),
            )
            desk.units[callsign] = unit.id
        response = desk.fix(callsign, lat, lon)
        assert response.status_code == 200, response.text
    return desk
