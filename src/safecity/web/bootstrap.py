"""Start-up steps shared by the CLI and the tests: migrate, seed, create the demo admin."""

from __future__ import annotations

from sqlalchemy import select

from safecity.audit.context import SYSTEM
from safecity.db import migrate
from safecity.identity import passwords
from safecity.identity.models import Role, User, UserRole
from safecity.identity.passwords import generate_password
from safecity.identity.seed import seed_identity
from safecity.registry.seed import seed_demo_province, seed_districts
from safecity.web.platform import Platform, metadata

DEMO_ADMIN = "admin"
DEMO_PASSWORD_FILE = "demo-admin-password"  # noqa: S105 - a file name


def upgrade_database(platform: Platform) -> None:
    migrate.upgrade(platform.engine, metadata())


def seed_base(platform: Platform) -> None:
    with platform.transaction() as session:
        seed_identity(session)
        seed_districts(session)


def seed_demo(platform: Platform) -> tuple[int, int]:
    with platform.transaction() as session:
        return seed_demo_province(session, platform.audit, platform.cipher, SYSTEM)


def ensure_demo_admin(platform: Platform) -> str:
    """The demo's administrator; its password is kept in the data folder's keys."""
    path = platform.keys.directory / DEMO_PASSWORD_FILE
    with platform.transaction() as session:
        user = session.scalars(select(User).where(User.username == DEMO_ADMIN)).first()
        if user is not None and path.exists():
            return path.read_text().strip()
        password = generate_password()
        if user is None:
            user = User(
                username=DEMO_ADMIN,
                full_name="Demo administrator",
                password_hash=passwords.hash_password(password),
                all_districts=True,
            )
            session.add(user)
            session.flush()
            for slug in ("admin", "auditor"):
                role = session.scalars(select(Role).where(Role.slug == slug)).one()
                session.add(UserRole(user_id=user.id, role_id=role.id))
            platform.audit.append(
                session,
                SYSTEM,
                action="create",
                object_type="user",
                object_id=user.id,
                summary="demo administrator created",
                after={"username": DEMO_ADMIN, "roles": ["admin", "auditor"]},
            )
        else:
            user.password_hash = passwords.hash_password(password)
            platform.audit.append(
                session,
                SYSTEM,
                action="password_reset",
                object_type="user",
                object_id=user.id,
                summary="demo administrator password regenerated (password file was missing)",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n")
        path.chmod(0o600)
    return password
