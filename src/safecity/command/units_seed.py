"""The demo's roster: a few units per district, each with its own field-unit account and
API token, a simulated dispatcher account, and a patrol loop through the district's
intersections (the demo has no road network; sites sit on its roads)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.command.units import UnitService
from safecity.command.units_models import Unit
from safecity.command.units_schemas import UnitCreate
from safecity.identity.models import User
from safecity.identity.passwords import generate_password
from safecity.identity.permissions import Principal
from safecity.identity.schemas import UserCreate
from safecity.identity.service import IdentityService
from safecity.registry.models import District, Site

DEMO_KINDS = ("police_mobile", "police_mobile", "motorcycle_squad", "ambulance")
DISPATCHER = "sim-dispatcher"


@dataclass(frozen=True)
class SeededUnit:
    unit_id: int
    callsign: str
    token: str
    route: list[tuple[float, float]]


@dataclass(frozen=True)
class SeededDistrict:
    slug: str
    dispatcher_token: str
    units: list[SeededUnit]


def patrol_loop(
    points: list[tuple[float, float]], centre: tuple[float, float]
) -> list[tuple[float, float]]:
    """Points ordered by bearing round their centre: a loop without crossings."""
    if len(points) < 3:
        lat, lon = centre
        return [(lat, lon), (lat + 0.01, lon), (lat + 0.01, lon + 0.01), (lat, lon + 0.01)]
    mid = (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    return sorted(points, key=lambda p: math.atan2(p[0] - mid[0], p[1] - mid[1]))


def _account(
    session: Session, identity: IdentityService, admin: Principal, data: UserCreate
) -> str:
    user = session.scalars(select(User).where(User.username == data.username)).first()
    if user is None:
        user = identity.create_user(session, admin, data)
    _, raw = identity.create_token(session, admin.audit, user=user, name="demo fleet")
    return raw


def seed_demo_fleet(
    session: Session,
    identity: IdentityService,
    units: UnitService,
    admin: Principal,
    *,
    per_district_sites: int = 12,
) -> list[SeededDistrict]:
    dispatcher = _account(
        session,
        identity,
        admin,
        UserCreate(
            username=DISPATCHER,
            full_name="Simulated dispatcher (demo)",
            password=generate_password(24),
            roles=["operator"],
            all_districts=True,
        ),
    )
    seeded = []
    for district in session.scalars(select(District).order_by(District.slug)):
        sites = session.scalars(
            select(Site)
            .where(Site.district_id == district.id)
            .order_by(Site.code)
            .limit(per_district_sites)
        ).all()
        if not sites:
            continue  # no roads known here: nothing for a unit to patrol
        route = patrol_loop(
            [(s.latitude, s.longitude) for s in sites], (district.latitude, district.longitude)
        )
        members = []
        for n, kind in enumerate(DEMO_KINDS, start=1):
            callsign = f"{district.slug[:3].upper()}-{kind[0].upper()}{n}"
            username = f"unit-{callsign.lower()}"
            token = _account(
                session,
                identity,
                admin,
                UserCreate(
                    username=username,
                    full_name=f"Field unit {callsign}",
                    password=generate_password(24),
                    roles=["field_unit"],
                    districts=[district.slug],
                ),
            )
            unit = session.scalars(select(Unit).where(Unit.callsign == callsign)).first()
            if unit is None:
                unit = units.create(
                    session,
                    admin,
                    UnitCreate(
                        callsign=callsign, kind=kind, district=district.slug, username=username
                    ),
                )
            start = route[(n * len(route)) // len(DEMO_KINDS) % len(route)]
            members.append(
                SeededUnit(
                    unit.id,
                    callsign,
                    token,
                    route[route.index(start) :] + route[: route.index(start)],
                )
            )
        seeded.append(SeededDistrict(district.slug, dispatcher, members))
    return seeded
