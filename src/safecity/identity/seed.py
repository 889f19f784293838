"""The agencies and roles every installation starts with (editable data afterwards)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.identity.models import Agency, Role
from safecity.identity.permissions import DEFAULT_ROLES

AGENCIES: tuple[tuple[str, str, str], ...] = (
    ("kp-police", "Khyber Pakhtunkhwa Police", "police"),
    ("traffic-police", "Traffic Police", "traffic"),
    ("ctd", "Counter Terrorism Department", "police"),
    ("rescue-1122", "Rescue 1122", "rescue"),
    ("safe-cities-authority", "Safe Cities Authority", "authority"),
    ("private-owners", "Private camera owners", "private"),
)


def seed_identity(session: Session) -> None:
    """Insert missing agencies and roles; never overwrite what an administrator edited."""
    have_agencies = set(session.scalars(select(Agency.slug)))
    for slug, name, kind in AGENCIES:
        if slug not in have_agencies:
            session.add(Agency(slug=slug, name=name, kind=kind))
    have_roles = set(session.scalars(select(Role.slug)))
    for slug, (name, description, permissions) in DEFAULT_ROLES.items():
        if slug not in have_roles:
            session.add(
                Role(slug=slug, name=name, description=description, permissions=list(permissions))
            )
    session.flush()
