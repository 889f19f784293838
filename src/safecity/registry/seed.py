"""Districts of the first deployment profile, and the demo province.

District centres are the towns' coordinates (WGS84). The demo province is
generated deterministically: sites spread around each district centre the
way a city grows (dense core, thinner edges), cameras per site as in the
Peshawar phase-1 plan (710 cameras at 125 sites, about 5.7 a site).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.audit.context import AuditContext
from safecity.audit.log import AuditLog
from safecity.core.secrets import CredentialCipher
from safecity.registry.models import Camera, District, Owner, Site
from safecity.registry.streams import display_form

# slug, name, latitude, longitude
KP_DISTRICTS: tuple[tuple[str, str, float, float], ...] = (
    ("peshawar", "Peshawar", 34.0151, 71.5249),
    ("dera-ismail-khan", "Dera Ismail Khan", 31.8314, 70.9019),
    ("bannu", "Bannu", 32.9889, 70.6056),
    ("lakki-marwat", "Lakki Marwat", 32.6078, 70.9114),
    ("karak", "Karak", 33.1167, 71.0944),
    ("tank", "Tank", 32.2172, 70.3833),
    ("north-waziristan", "North Waziristan", 33.0044, 70.0711),
    ("mardan", "Mardan", 34.1989, 72.0231),
    ("kohat", "Kohat", 33.5869, 71.4414),
    ("nowshera", "Nowshera", 34.0153, 71.9747),
    ("swat", "Swat", 34.7717, 72.3600),
    ("abbottabad", "Abbottabad", 34.1688, 73.2215),
)


@dataclass(frozen=True)
class DemoDistrict:
    slug: str
    prefix: str
    sites: int
    cameras: int
    spread_km: float
    landmarks: tuple[str, ...]


DEMO_PROVINCE: tuple[DemoDistrict, ...] = (
    DemoDistrict(
        "peshawar",
        "PSH",
        125,
        710,
        7.0,
        (
            "Hashtnagri",
            "Firdous",
            "Khyber Bazaar",
            "Qissa Khwani",
            "Chowk Yadgar",
            "Saddar",
            "University Road",
            "GT Road",
            "Ring Road",
            "Board Bazaar",
            "Hayatabad",
            "Tehkal",
            "Gulbahar",
            "Karkhano",
            "Charsadda Road",
            "Kohat Road",
            "Dalazak Road",
            "Warsak Road",
            "Bacha Khan Chowk",
            "Cantonment",
            "Faqirabad",
            "Pajagi Road",
            "Sufaid Dheri",
            "Peshtakhara",
        ),
    ),
    DemoDistrict(
        "dera-ismail-khan",
        "DIK",
        88,
        440,
        4.5,
        (
            "Topanwala",
            "Circular Road",
            "Bannu Road",
            "Chungi",
            "Kotla Saidan",
            "Indus Bridge",
            "Muslim Bazaar",
            "Commissionerate",
            "Multan Road",
            "Daraban Road",
            "Gomal University",
        ),
    ),
    DemoDistrict(
        "bannu",
        "BNU",
        76,
        380,
        4.0,
        (
            "Chowk Bazaar",
            "Kohat Road",
            "Lakki Gate",
            "Township",
            "Railway Road",
            "Mandan",
            "Miranshah Road",
            "Cantonment",
            "Domel Road",
            "Fatima Khel",
        ),
    ),
    DemoDistrict(
        "lakki-marwat",
        "LKM",
        47,
        235,
        3.0,
        (
            "Main Bazaar",
            "Tajazai",
            "Naurang Road",
            "Serai Naurang",
            "Pezu Road",
            "DC Office",
            "Bannu Road",
            "Abbasa Khattak",
        ),
    ),
)

SITE_KIND_WEIGHTS = (
    ("intersection", 45),
    ("entry_exit_point", 10),
    ("market", 12),
    ("school", 6),
    ("hotel", 5),
    ("housing_society", 5),
    ("plaza", 6),
    ("hospital", 4),
    ("bus_terminal", 3),
    ("government_building", 3),
    ("religious_site", 1),
)
VENDORS = (
    ("Hikvision", "DS-2CD2T47G2"),
    ("Dahua", "IPC-HFW5442E"),
    ("Uniview", "IPC2324"),
    ("Huawei", "M2221-10-EI"),
    ("Axis", "P1465-LE"),
)
PRIVATE_KINDS = {
    "hotel": "private",
    "housing_society": "private",
    "plaza": "private",
    "school": "school",
}
KM_PER_DEGREE_LAT = 110.574


def seed_districts(session: Session) -> int:
    """Insert missing districts of the deployment profile; return how many were added."""
    have = set(session.scalars(select(District.slug)))
    added = 0
    for slug, name, lat, lon in KP_DISTRICTS:
        if slug not in have:
            session.add(District(slug=slug, name=name, latitude=lat, longitude=lon))
            added += 1
    session.flush()
    return added


def _offset(rng: random.Random, lat: float, spread_km: float) -> tuple[float, float]:
    # A city is dense at its core: distance from the centre ~ |normal|, bearing uniform.
    distance = abs(rng.gauss(0, spread_km / 2))
    bearing = rng.uniform(0, 2 * math.pi)
    d_lat = distance * math.cos(bearing) / KM_PER_DEGREE_LAT
    d_lon = distance * math.sin(bearing) / (111.320 * math.cos(math.radians(lat)))
    return d_lat, d_lon


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    counts = [1] * parts
    for _ in range(total - parts):
        counts[rng.randrange(parts)] += 1
    return counts


def seed_demo_province(
    session: Session, audit: AuditLog, cipher: CredentialCipher, ctx: AuditContext, seed: int = 2026
) -> tuple[int, int]:
    """Create the demo sites and cameras once; returns (sites, cameras) created."""
    if session.scalar(select(func.count()).select_from(Site)):
        return 0, 0
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    districts = {d.slug: d for d in session.scalars(select(District))}
    kinds = [k for k, _ in SITE_KIND_WEIGHTS]
    weights = [w for _, w in SITE_KIND_WEIGHTS]
    sites_made = cameras_made = 0
    for plan in DEMO_PROVINCE:
        district = districts[plan.slug]
        per_site = _split(plan.cameras, plan.sites, rng)
        for index in range(plan.sites):
            kind = rng.choices(kinds, weights)[0]
            d_lat, d_lon = _offset(rng, district.latitude, plan.spread_km)
            landmark = plan.landmarks[index % len(plan.landmarks)]
            round_no = index // len(plan.landmarks) + 1
            site = Site(
                code=f"{plan.prefix}-S{index + 1:03d}",
                name=f"{landmark} {kind.replace('_', ' ').title()} {round_no}",
                district_id=district.id,
                site_type=kind,
                latitude=round(district.latitude + d_lat, 6),
                longitude=round(district.longitude + d_lon, 6),
                phase=1 if index < plan.sites * 0.8 else 2,
                rollout_status=rng.choices(
                    ["live", "installed", "surveyed", "planned"], [80, 10, 5, 5]
                )[0],
                power_source="solar" if plan.slug != "peshawar" and rng.random() < 0.3 else "grid",
                address=f"{landmark}, {district.name}",
            )
            session.add(site)
            session.flush()
            sites_made += 1
            ownership = PRIVATE_KINDS.get(kind, "public")
            owner = None
            if ownership != "public":
                owner = Owner(
                    name=f"{site.name} management",
                    kind=ownership,
                    contact=f"03{rng.randint(0, 49):02d}-{rng.randint(1000000, 9999999)}",
                )
                session.add(owner)
            for n in range(per_site[index]):
                cameras_made += 1
                vendor, model = VENDORS[rng.randrange(len(VENDORS))]
                address = f"10.{20 + list(districts).index(plan.slug)}.{index}.{n + 10}"
                main = (
                    f"rtsp://admin:{rng.getrandbits(48):012x}@{address}:554/Streaming/Channels/101"
                )
                sub = main.replace("/101", "/102")
                live = site.rollout_status == "live"
                status = (
                    ("online" if rng.random() < 0.93 else "offline")
                    if live
                    else ("installed" if site.rollout_status == "installed" else "planned")
                )
                ptz = n == 0 and kind == "intersection"
                c_lat, c_lon = _offset(rng, site.latitude, 0.06)
                session.add(
                    Camera(
                        code=f"{plan.prefix}-C{cameras_made:04d}",
                        name=f"{site.name} cam {n + 1}{' (PTZ)' if ptz else ''}",
                        site_id=site.id,
                        district_id=district.id,
                        ownership=ownership,
                        owner=owner,
                        vendor=f"{vendor} Pakistan",
                        make=vendor,
                        model=model,
                        main_stream_enc=cipher.encrypt(main),
                        main_stream_display=display_form(main),
                        sub_stream_enc=cipher.encrypt(sub),
                        sub_stream_display=display_form(sub),
                        resolution_width=1920,
                        resolution_height=1080,
                        fps=15 if ptz else 12,
                        codec="h265" if rng.random() < 0.3 else "h264",
                        ptz=ptz,
                        purpose=_purpose(kind),
                        legal_basis=_legal_basis(ownership),
                        privacy_masks=_masks(kind, rng),
                        status=status,
                        latitude=round(site.latitude + c_lat, 6),
                        longitude=round(site.longitude + c_lon, 6),
                    )
                )
        session.flush()
        audit.append(
            session,
            ctx,
            action="seed",
            object_type="district",
            object_id=district.id,
            district=district.slug,
            summary=(
                f"demo province: {plan.sites} sites and {plan.cameras} cameras in {district.name}"
            ),
        )
    return sites_made, cameras_made


def _purpose(kind: str) -> str:
    return {
        "intersection": "Traffic management and public safety at a junction",
        "entry_exit_point": "City entry/exit monitoring (vehicles)",
        "market": "Public safety in a crowded market",
        "school": "Safety of pupils at the school gate",
    }.get(kind, "Public safety")


def _legal_basis(ownership: str) -> str:
    if ownership == "public":
        return "KP Safe Cities programme; Police Order 2017"
    return "Data-sharing agreement with the owner (demo)"


def _masks(kind: str, rng: random.Random) -> list[dict[str, object]]:
    if kind not in ("housing_society", "school", "hotel") or rng.random() < 0.5:
        return []
    top = round(rng.uniform(0.05, 0.3), 2)
    return [
        {
            "points": [[0.6, top], [0.95, top], [0.95, top + 0.3], [0.6, top + 0.3]],
            "label": "residential windows",
        }
    ]
