"""Sign-in, sessions, API tokens and user administration.

Each public method runs inside the caller's transaction and makes its own
permission check; every change and every sign-in attempt is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, column, delete, exists, func, or_, select, table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safecity.audit.context import AuditContext
from safecity.audit.log import AuditLog
from safecity.core.clock import as_utc, utcnow
from safecity.core.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    TooManyRequests,
)
from safecity.core.secrets import CredentialCipher
from safecity.identity import passwords, tokens, totp
from safecity.identity.errors import SecondFactorRequired, SelfGrantForbidden, SignInFailed
from safecity.identity.models import (
    Agency,
    ApiToken,
    LoginThrottle,
    Role,
    User,
    UserCamera,
    UserDistrict,
    UserRole,
    UserSession,
)
from safecity.identity.permissions import Principal
from safecity.identity.schemas import ScopeUpdate, UserCreate, UserPublic, UserUpdate

# Identity sits below the registry, so it names the districts table without importing it.
_districts = table("districts", column("id"), column("slug"))
_cameras = table("cameras", column("id"), column("district_id"))
_LAST_SEEN_GRANULARITY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    ttl: timedelta = timedelta(hours=12)
    idle: timedelta = timedelta(hours=1)
    max_failures: int = 5
    pause: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_token: str
    expires_at: datetime


class IdentityService:
    def __init__(self, audit: AuditLog, cipher: CredentialCipher, policy: SessionPolicy) -> None:
        self.audit = audit
        self.cipher = cipher
        self.policy = policy

    # -- principals -------------------------------------------------------------------------

    def principal_for(self, session: Session, user: User, ctx: AuditContext) -> Principal:
        permissions: set[str] = set()
        for role in user.roles:
            permissions.update(role.permissions)
        district_ids: frozenset[int] | None = None
        district_slugs: frozenset[str] | None = None
        if not user.all_districts:
            rows = session.execute(
                select(UserDistrict.district_id, _districts.c.slug)
                .join(_districts, _districts.c.id == UserDistrict.district_id)
                .where(UserDistrict.user_id == user.id)
            ).all()
            district_ids = frozenset(row[0] for row in rows)
            district_slugs = frozenset(row[1] for row in rows)
        camera_ids = frozenset(
            session.scalars(select(UserCamera.camera_id).where(UserCamera.user_id == user.id))
        )
        return Principal(
            district_slugs=district_slugs,
            user_id=user.id,
            username=user.username,
            permissions=frozenset(permissions),
            district_ids=district_ids,
            camera_ids=camera_ids,
            audit=replace(ctx, actor_id=user.id, actor_name=user.username),
        )

    # -- sign-in ----------------------------------------------------------------------------

    def sign_in(
        self,
        session: Session,
        ctx: AuditContext,
        *,
        username: str,
        password: str,
        totp_code: str | None,
    ) -> SignedIn:
        """Check the password (and code), open a session; audit success and failure alike.

        Failures are counted per (username, source address): an attacker guessing
        from one place pauses only that pair, so a control room is never locked out.
        """
        username = username.strip().lower()
        source = ctx.source_ip or "unknown"
        now = utcnow()
        throttle = self._throttle(session, username, source)
        if throttle.paused_until and as_utc(throttle.paused_until) > now:
            wait = int((as_utc(throttle.paused_until) - now).total_seconds()) + 1
            self.audit.append(
                session,
                replace(ctx, actor_name=username),
                action="login_throttled",
                object_type="user",
                summary=f"sign-in paused for {wait}s after repeated failures",
            )
            raise TooManyRequests(
                f"too many failed sign-ins from this address; try again in {wait} s",
                retry_after_seconds=wait,
            )
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        ok = passwords.verify_password(user.password_hash if user else None, password)
        reason = "wrong username or password"
        if ok and user is not None and not user.is_active:
            ok, reason = False, "account deactivated"
        if ok and user is not None and user.totp_secret:
            if not totp_code:
                raise SecondFactorRequired("enter the 6-digit code from your authenticator app")
            if not totp.verify_code(self.cipher.decrypt(user.totp_secret), totp_code):
                ok, reason = False, "wrong second-factor code"
        if not ok or user is None:
            self._count_failure(throttle, now)
            self.audit.append(
                session,
                replace(ctx, actor_id=user.id if user else None, actor_name=username),
                action="login_failed",
                object_type="user",
                object_id=user.id if user else None,
                summary=reason,
            )
            raise SignInFailed("wrong username, password or code")
        throttle.failures = 0
        throttle.paused_until = None
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        user.last_login_at = now
        raw = tokens.new_session_secret()
        expires = now + self.policy.ttl
        session.add(
            UserSession(
                token_hash=tokens.digest(raw),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
                source_ip=ctx.source_ip,
                purpose=ctx.purpose,
            )
        )
        self.audit.append(
            session,
            replace(ctx, actor_id=user.id, actor_name=user.username),
            action="login",
            object_type="user",
            object_id=user.id,
            summary=f"signed in; stated purpose: {ctx.purpose or 'not stated'}",
        )
        return SignedIn(user=user, session_token=raw, expires_at=expires)

    @staticmethod
    def _throttle(session: Session, username: str, source: str) -> LoginThrottle:
        """The (username, address) counter, locked: parallel guesses must each count."""
        query = (
            select(LoginThrottle)
            .where(LoginThrottle.username == username, LoginThrottle.source_ip == source)
            .with_for_update()
        )
        row = session.scalars(query).one_or_none()
        if row is not None:
            return row
        try:
            with session.begin_nested():
                session.add(LoginThrottle(username=username, source_ip=source, failures=0))
        except IntegrityError:
            pass  # a parallel attempt created it first; lock theirs below
        return session.scalars(query).one()

    def _count_failure(self, throttle: LoginThrottle, now: datetime) -> None:
        throttle.failures += 1
        if throttle.failures >= self.policy.max_failures:
            throttle.paused_until = now + self.policy.pause
            throttle.failures = 0

    def resolve_session(self, session: Session, raw: str, ctx: AuditContext) -> Principal:
        row = session.scalars(
            select(UserSession).where(UserSession.token_hash == tokens.digest(raw))
        ).one_or_none()
        now = utcnow()
        if row is None or row.ended_at is not None:
            raise NotAuthenticated("not signed in")
        if as_utc(row.expires_at) <= now or as_utc(row.last_seen_at) + self.policy.idle <= now:
            row.ended_at = now
            raise NotAuthenticated("your session has expired; sign in again")
        user = session.get(User, row.user_id)
        if user is None or not user.is_active:
            raise NotAuthenticated("account deactivated")
        if now - as_utc(row.last_seen_at) >= _LAST_SEEN_GRANULARITY:
            row.last_seen_at = now
        return self.principal_for(session, user, replace(ctx, purpose=ctx.purpose or row.purpose))

    def sign_out(self, session: Session, raw: str, principal: Principal) -> None:
        row = session.scalars(
            select(UserSession).where(UserSession.token_hash == tokens.digest(raw))
        ).one_or_none()
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            self.audit.append(
                session,
                principal.audit,
                action="logout",
                object_type="user",
                object_id=principal.user_id,
            )

    # -- API tokens -------------------------------------------------------------------------

    def create_token(
        self,
        session: Session,
        ctx: AuditContext,
        *,
        user: User,
        name: str,
        expires_in_days: int | None = None,
    ) -> tuple[ApiToken, str]:
        raw = tokens.new_api_token()
        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        row = ApiToken(
            user_id=user.id,
            name=name,
            prefix=raw[:10],
            token_hash=tokens.digest(raw),
            expires_at=expires,
        )
        session.add(row)
        session.flush()
        self.audit.append(
            session,
            ctx,
            action="token_create",
            object_type="api_token",
            object_id=row.id,
            summary=f"API token '{name}' for {user.username}",
            after={"user": user.username, "name": name, "expires_at": expires},
        )
        return row, raw

    def resolve_token(self, session: Session, raw: str, ctx: AuditContext) -> Principal:
        row = session.scalars(
            select(ApiToken).where(ApiToken.token_hash == tokens.digest(raw))
        ).one_or_none()
        now = utcnow()
        if row is None or row.revoked_at is not None:
            raise NotAuthenticated("invalid or revoked API token")
        if row.expires_at is not None and as_utc(row.expires_at) <= now:
            raise NotAuthenticated("API token expired")
        user = session.get(User, row.user_id)
        if user is None or not user.is_active:
            raise NotAuthenticated("account deactivated")
        if row.last_used_at is None or now - as_utc(row.last_used_at) >= _LAST_SEEN_GRANULARITY:
            row.last_used_at = now
        return self.principal_for(session, user, ctx)

    def list_tokens(self, session: Session, principal: Principal, user_id: int) -> list[ApiToken]:
        self._require_self_or(principal, user_id, "users.change")
        return list(
            session.scalars(
                select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
            )
        )

    def revoke_token(self, session: Session, principal: Principal, token_id: int) -> ApiToken:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"API token {token_id} not found")
        if row.user_id != principal.user_id:
            principal.require("users.change")
            # Someone else's token only for a user the caller can see: scope never leaks.
            visible = self._visible_users(principal).where(User.id == row.user_id)
            if session.scalars(visible).first() is None:
                raise NotFound(f"API token {token_id} not found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            self.audit.append(
                session,
                principal.audit,
                action="token_revoke",
                object_type="api_token",
                object_id=row.id,
                summary=f"revoked API token '{row.name}'",
            )
        return row

    @staticmethod
    def _require_self_or(principal: Principal, user_id: int, permission: str) -> None:
        if principal.user_id != user_id:
            principal.require(permission)

    # -- users ------------------------------------------------------------------------------

    @staticmethod
    def _visible_users(principal: Principal) -> Select[User]:
        principal.require("users.view")
        stmt = select(User)
        if principal.district_ids is None:
            return stmt
        shares = exists().where(
            UserDistrict.user_id == User.id,
            UserDistrict.district_id.in_(sorted(principal.district_ids)),
        )
        return stmt.where(or_(shares, User.id == principal.user_id))

    def list_users(
        self,
        session: Session,
        principal: Principal,
        *,
        query: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[User], int]:
        stmt = self._visible_users(principal)
        if query:
            like = f"%{query.lower()}%"
            stmt = stmt.where(or_(User.username.like(like), func.lower(User.full_name).like(like)))
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        users = list(session.scalars(stmt.order_by(User.username).limit(limit).offset(offset)))
        self.audit.append(
            session,
            principal.audit,
            action="search",
            object_type="user",
            summary=f"listed users (query={query!r}, {len(users)} of {total})",
        )
        return users, total

    def get_user(self, session: Session, principal: Principal, user_id: int) -> User:
        user = session.scalars(self._visible_users(principal).where(User.id == user_id)).first()
        if user is None:
            raise NotFound(f"user {user_id} not found")
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="user",
            object_id=user.id,
        )
        return user

    def describe(self, session: Session, user: User) -> UserPublic:
        districts = list(
            session.scalars(
                select(_districts.c.slug)
                .join(UserDistrict, UserDistrict.district_id == _districts.c.id)
                .where(UserDistrict.user_id == user.id)
                .order_by(_districts.c.slug)
            )
        )
        cameras = sorted(
            session.scalars(select(UserCamera.camera_id).where(UserCamera.user_id == user.id))
        )
        return UserPublic(
            id=user.id,
            username=user.username,
            full_name=user.full_name,
            agency=user.agency.slug if user.agency else None,
            is_active=user.is_active,
            roles=sorted(role.slug for role in user.roles),
            districts=districts,
            all_districts=user.all_districts,
            cameras=cameras,
            totp_enabled=user.totp_secret is not None,
            last_login_at=user.last_login_at,
            version=user.version,
        )

    def create_user(self, session: Session, principal: Principal, data: UserCreate) -> User:
        principal.require("users.change")
        if session.scalars(select(User.id).where(User.username == data.username)).first():
            raise Conflict(f"username '{data.username}' is taken", field="username")
        user = User(
            username=data.username,
            full_name=data.full_name,
            agency_id=self._agency_id(session, data.agency),
            password_hash=passwords.hash_password(data.password),
        )
        session.add(user)
        session.flush()
        self.audit.append(
            session,
            principal.audit,
            action="create",
            object_type="user",
            object_id=user.id,
            summary=f"created user {user.username}",
            after=self._snapshot(session, user),
        )
        if data.roles or data.districts or data.all_districts or data.cameras:
            principal.require("roles.grant")
        # Granted directly: the new user is in no district yet, so a district-scoped
        # creator could not reach it through _changeable; the grant checks still apply.
        if data.roles:
            self._grant_roles(session, principal, user, data.roles)
        if data.districts or data.all_districts or data.cameras:
            self._grant_scope(
                session,
                principal,
                user,
                ScopeUpdate(
                    districts=data.districts, all_districts=data.all_districts, cameras=data.cameras
                ),
            )
        # Re-read through the creator's own view: a user they could not see is refused.
        visible = self._visible_users(principal).where(User.id == user.id)
        if session.scalars(visible).first() is None:
            raise InvalidInput(
                "the new user would be outside your own scope; give it a district you hold",
                field="districts",
            )
        return user

    def update_user(
        self,
        session: Session,
        principal: Principal,
        user_id: int,
        data: UserUpdate,
        *,
        expected_version: int | None = None,
    ) -> User:
        principal.require("users.change")
        user = self._changeable(session, principal, user_id, expected_version)
        if data.is_active is False and user.id == principal.user_id:
            raise SelfGrantForbidden("you cannot deactivate your own account")
        before = self._snapshot(session, user)
        if data.full_name is not None:
            user.full_name = data.full_name
        if data.agency is not None:
            user.agency_id = self._agency_id(session, data.agency)
        if data.is_active is not None:
            user.is_active = data.is_active
            if not data.is_active:
                self._end_all_sessions(session, user.id)
        session.flush()
        self.audit.append(
            session,
            principal.audit,
            action="update",
            object_type="user",
            object_id=user.id,
            summary=f"updated user {user.username}",
            before=before,
            after=self._snapshot(session, user),
        )
        return user

    def set_roles(
        self, session: Session, principal: Principal, user_id: int, role_slugs: list[str]
    ) -> User:
        """Replace the user's roles. Nobody changes their own roles, and nobody grants a
        role carrying a permission they do not hold themselves."""
        principal.require("roles.grant")
        if user_id == principal.user_id:
            raise SelfGrantForbidden("separation of duties: you cannot change your own roles")
        return self._grant_roles(
            session, principal, self._changeable(session, principal, user_id, None), role_slugs
        )

    def _grant_roles(
        self, session: Session, principal: Principal, user: User, role_slugs: list[str]
    ) -> User:
        roles = list(session.scalars(select(Role).where(Role.slug.in_(role_slugs))))
        unknown = sorted(set(role_slugs) - {role.slug for role in roles})
        if unknown:
            raise InvalidInput(f"unknown role(s): {', '.join(unknown)}", field="roles")
        current = {role.slug for role in user.roles}
        for role in roles:
            if role.slug in current:
                continue
            missing = sorted(set(role.permissions) - principal.permissions)
            if missing:
                raise SelfGrantForbidden(
                    f"you cannot grant role '{role.slug}': it carries permissions you do not "
                    f"hold ({', '.join(missing)})"
                )
        before = self._snapshot(session, user)
        session.execute(delete(UserRole).where(UserRole.user_id == user.id))
        for role in roles:
            # The command-line principal (user_id 0) is no user row: record no grantor.
            granted_by = principal.user_id or None
            session.add(UserRole(user_id=user.id, role_id=role.id, granted_by_id=granted_by))
        session.flush()
        session.refresh(user)
        self.audit.append(
            session,
            principal.audit,
            action="roles_change",
            object_type="user",
            object_id=user.id,
            summary=f"roles of {user.username}: {_slugs(roles)}",
            before=before,
            after=self._snapshot(session, user),
        )
        return user

    def set_scope(
        self, session: Session, principal: Principal, user_id: int, scope: ScopeUpdate
    ) -> User:
        principal.require("roles.grant")
        if user_id == principal.user_id:
            raise SelfGrantForbidden("separation of duties: you cannot change your own scope")
        return self._grant_scope(
            session, principal, self._changeable(session, principal, user_id, None), scope
        )

    def _grant_scope(
        self, session: Session, principal: Principal, user: User, scope: ScopeUpdate
    ) -> User:
        if scope.all_districts and principal.district_ids is not None:
            raise SelfGrantForbidden("only a user with province-wide scope can grant it")
        rows = session.execute(
            select(_districts.c.id, _districts.c.slug).where(_districts.c.slug.in_(scope.districts))
        ).all()
        unknown = sorted(set(scope.districts) - {row.slug for row in rows})
        if unknown:
            raise InvalidInput(f"unknown district(s): {', '.join(unknown)}", field="districts")
        ids = {row.id for row in rows}
        if principal.district_ids is not None and not ids <= principal.district_ids:
            raise SelfGrantForbidden("you can only grant districts inside your own scope")
        reachable = select(_cameras.c.id).where(_cameras.c.id.in_(scope.cameras))
        if principal.district_ids is not None:
            reachable = reachable.where(
                or_(
                    _cameras.c.district_id.in_(sorted(principal.district_ids)),
                    _cameras.c.id.in_(sorted(principal.camera_ids)),
                )
            )
        known_cameras = set(session.scalars(reachable))
        if set(scope.cameras) - known_cameras:
            # Unknown and out-of-reach look alike: which camera ids exist is not leaked.
            missing = sorted(set(scope.cameras) - known_cameras)
            raise InvalidInput(f"camera id(s) not found in your scope: {missing}", field="cameras")
        before = self._snapshot(session, user)
        user.all_districts = scope.all_districts
        session.execute(delete(UserDistrict).where(UserDistrict.user_id == user.id))
        session.execute(delete(UserCamera).where(UserCamera.user_id == user.id))
        session.add_all(UserDistrict(user_id=user.id, district_id=i) for i in sorted(ids))
        session.add_all(UserCamera(user_id=user.id, camera_id=i) for i in sorted(known_cameras))
        session.flush()
        self.audit.append(
            session,
            principal.audit,
            action="scope_change",
            object_type="user",
            object_id=user.id,
            summary=f"scope of {user.username}",
            before=before,
            after=self._snapshot(session, user),
        )
        return user

    def reset_password(
        self,
        session: Session,
        principal: Principal,
        user_id: int,
        password: str,
        *,
        current_password: str | None = None,
        keep_session: str | None = None,
    ) -> User:
        """Another user's password (users.change; their sessions and tokens end), or one's
        own (the current password is required: a borrowed session must not suffice; every
        other session ends, ``keep_session`` — the one making the change — stays)."""
        if user_id == principal.user_id:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound(f"user {user_id} not found")
            if not passwords.verify_password(user.password_hash, current_password or ""):
                raise InvalidInput("the current password is wrong", field="current_password")
        else:
            principal.require("users.change")
            user = self._changeable(session, principal, user_id, None)
            self._revoke_all_tokens(session, user.id)
        user.password_hash = passwords.hash_password(password)
        kept = (
            tokens.digest(keep_session) if keep_session and user_id == principal.user_id else None
        )
        self._end_all_sessions(session, user.id, except_hash=kept)
        self.audit.append(
            session,
            principal.audit,
            action="password_reset",
            object_type="user",
            object_id=user.id,
            summary=f"password of {user.username} changed",
        )
        return user

    def begin_totp(self, user: User) -> str:
        """A fresh secret to show as a QR code; stored only after a valid code confirms it."""
        if user.totp_secret is not None:
            raise Conflict("two-factor sign-in is already on")
        return totp.new_secret()

    def confirm_totp(self, session: Session, principal: Principal, secret: str, code: str) -> None:
        user = session.get(User, principal.user_id)
        if user is None:
            raise NotFound("user not found")
        if user.totp_secret is not None:
            # Replacing a second factor must not be possible with a stolen session alone.
            raise Conflict("two-factor sign-in is already on; an administrator must reset it")
        if not totp.verify_code(secret, code):
            raise InvalidInput("the code does not match; check the phone's clock", field="code")
        user.totp_secret = self.cipher.encrypt(secret)
        self.audit.append(
            session,
            principal.audit,
            action="totp_enable",
            object_type="user",
            object_id=user.id,
        )

    def list_roles(self, session: Session, principal: Principal) -> list[Role]:
        principal.require("users.view")
        return list(session.scalars(select(Role).order_by(Role.slug)))

    def list_agencies(self, session: Session) -> list[Agency]:
        return list(session.scalars(select(Agency).order_by(Agency.name)))

    # -- helpers ----------------------------------------------------------------------------

    def _changeable(
        self, session: Session, principal: Principal, user_id: int, expected_version: int | None
    ) -> User:
        """A user the principal may manage: visible, and holding nothing beyond the
        principal's own permissions and scope (or an admin could take over an auditor)."""
        user = session.scalars(self._visible_users(principal).where(User.id == user_id)).first()
        if user is None:
            raise NotFound(f"user {user_id} not found")
        if user.id != principal.user_id:
            self._require_not_above(session, principal, user)
        if expected_version is not None and user.version != expected_version:
            raise PreconditionFailed(
                f"user {user.username} was changed by someone else (version {user.version}); "
                "reload and try again"
            )
        return user

    @staticmethod
    def _require_not_above(session: Session, principal: Principal, user: User) -> None:
        extra = sorted({p for role in user.roles for p in role.permissions} - principal.permissions)
        if extra:
            raise PermissionDenied(
                f"{user.username} holds permissions you do not ({', '.join(extra)}); "
                "an administrator with at least those must manage this account"
            )
        if principal.district_ids is None:
            return
        districts = set(
            session.scalars(select(UserDistrict.district_id).where(UserDistrict.user_id == user.id))
        )
        if user.all_districts or not districts <= principal.district_ids:
            raise PermissionDenied(
                f"{user.username} has districts outside your scope; a province-wide "
                "administrator must manage this account"
            )

    @staticmethod
    def _agency_id(session: Session, slug: str | None) -> int | None:
        if not slug:
            return None
        agency_id = session.scalars(select(Agency.id).where(Agency.slug == slug)).first()
        if agency_id is None:
            raise InvalidInput(f"unknown agency '{slug}'", field="agency")
        return agency_id

    def _snapshot(self, session: Session, user: User) -> dict[str, Any]:
        public = self.describe(session, user)
        return public.model_dump(mode="json", exclude={"last_login_at", "version"})

    @staticmethod
    def _revoke_all_tokens(session: Session, user_id: int) -> None:
        for row in session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        ):
            row.revoked_at = utcnow()

    @staticmethod
    def _end_all_sessions(session: Session, user_id: int, except_hash: str | None = None) -> None:
        for row in session.scalars(
            select(UserSession).where(
                UserSession.user_id == user_id, UserSession.ended_at.is_(None)
            )
        ):
            if row.token_hash != except_hash:
                row.ended_at = utcnow()


def _slugs(roles: list[Role]) -> str:
    return ", ".join(sorted(role.slug for role in roles)) or "none"
