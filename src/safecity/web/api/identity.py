"""Users, roles, agencies, API tokens and the caller's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from safecity.core.errors import NotFound
from safecity.identity.models import User
from safecity.identity.schemas import (
    AgencyPublic,
    PasswordReset,
    RolePublic,
    RolesUpdate,
    ScopeUpdate,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from safecity.web.api.shapes import ERRORS, Paginated, if_match_version, page_of
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]
IfMatch = Annotated[int | None, Depends(if_match_version)]


@router.get("/me", tags=["identity"])
def me(platform: PlatformDep, principal: CurrentPrincipal) -> dict[str, object]:
    with platform.transaction() as session:
        user = session.get(User, principal.user_id)
        if user is None:
            raise NotFound("user not found")
        public = platform.identity.describe(session, user)
    return {**public.model_dump(mode="json"), "permissions": sorted(principal.permissions)}


@router.get("/users", tags=["identity"])
def list_users(
    platform: PlatformDep, principal: CurrentPrincipal, page: PageDep, q: str | None = None
) -> Paginated[UserPublic]:
    with platform.transaction() as session:
        users, total = platform.identity.list_users(
            session, principal, query=q, limit=page.limit, offset=page.offset
        )
        items = [platform.identity.describe(session, u) for u in users]
    return Paginated(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/users", status_code=201, tags=["identity"])
def create_user(data: UserCreate, platform: PlatformDep, principal: CurrentPrincipal) -> UserPublic:
    with platform.transaction() as session:
        user = platform.identity.create_user(session, principal, data)
        return platform.identity.describe(session, user)


@router.get("/users/{user_id}", tags=["identity"])
def get_user(user_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> UserPublic:
    with platform.transaction() as session:
        return platform.identity.describe(
            session, platform.identity.get_user(session, principal, user_id)
        )


@router.patch("/users/{user_id}", tags=["identity"])
def update_user(
    user_id: int,
    data: UserUpdate,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    version: IfMatch,
) -> UserPublic:
    with platform.transaction() as session:
        user = platform.identity.update_user(
            session, principal, user_id, data, expected_version=version
        )
        return platform.identity.describe(session, user)


@router.put("/users/{user_id}/roles", tags=["identity"])
def set_roles(
    user_id: int, data: RolesUpdate, platform: PlatformDep, principal: CurrentPrincipal
) -> UserPublic:
    with platform.transaction() as session:
        user = platform.identity.set_roles(session, principal, user_id, data.roles)
        return platform.identity.describe(session, user)


@router.put("/users/{user_id}/scope", tags=["identity"])
def set_scope(
    user_id: int, data: ScopeUpdate, platform: PlatformDep, principal: CurrentPrincipal
) -> UserPublic:
    with platform.transaction() as session:
        user = platform.identity.set_scope(session, principal, user_id, data)
        return platform.identity.describe(session, user)


@router.post("/users/{user_id}/password", status_code=204, tags=["identity"])
def reset_password(
    user_id: int, data: PasswordReset, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    with platform.transaction() as session:
        platform.identity.reset_password(
            session, principal, user_id, data.password, current_password=data.current_password
        )
    return Response(status_code=204)


@router.get("/roles", tags=["identity"])
def list_roles(
    platform: PlatformDep, principal: CurrentPrincipal, page: PageDep
) -> Paginated[RolePublic]:
    with platform.transaction() as session:
        roles = [
            RolePublic(
                slug=r.slug,
                name=r.name,
                description=r.description,
                permissions=sorted(r.permissions),
            )
            for r in platform.identity.list_roles(session, principal)
        ]
    return page_of(roles, limit=page.limit, offset=page.offset)


@router.get("/agencies", tags=["identity"])
def list_agencies(
    platform: PlatformDep, principal: CurrentPrincipal, page: PageDep
) -> Paginated[AgencyPublic]:
    with platform.transaction() as session:
        agencies = [
            AgencyPublic(slug=a.slug, name=a.name, kind=a.kind)
            for a in platform.identity.list_agencies(session)
        ]
    return page_of(agencies, limit=page.limit, offset=page.offset)


@router.get("/tokens", tags=["identity"])
def list_tokens(
    platform: PlatformDep, principal: CurrentPrincipal, page: PageDep
) -> Paginated[TokenPublic]:
    with platform.transaction() as session:
        tokens = [
            TokenPublic.model_validate(t, from_attributes=True)
            for t in platform.identity.list_tokens(session, principal, principal.user_id)
        ]
    return page_of(tokens, limit=page.limit, offset=page.offset)


@router.post("/tokens", status_code=201, tags=["identity"])
def create_token(
    data: TokenCreate, platform: PlatformDep, principal: CurrentPrincipal
) -> TokenCreated:
    with platform.transaction() as session:
        user = session.get(User, principal.user_id)
        if user is None:
            raise NotFound("user not found")
        row, raw = platform.identity.create_token(
            session,
            principal.audit,
            user=user,
            name=data.name,
            expires_in_days=data.expires_in_days,
        )
        return TokenCreated(id=row.id, name=row.name, token=raw)


@router.delete("/tokens/{token_id}", status_code=204, tags=["identity"])
def revoke_token(token_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    with platform.transaction() as session:
        platform.identity.revoke_token(session, principal, token_id)
    return Response(status_code=204)
