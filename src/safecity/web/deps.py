"""Typed dependencies: the platform, the signed-in principal, CSRF, paging."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from safecity.audit.context import AuditContext
from safecity.core.errors import NotAuthenticated, PermissionDenied
from safecity.identity.permissions import Principal
from safecity.web.platform import Platform
from safecity.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    UNSAFE_METHODS,
    csrf_valid,
)

PURPOSE_HEADER = "x-purpose"


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def audit_context(request: Request) -> AuditContext:
    purpose = request.headers.get(PURPOSE_HEADER)
    return AuditContext(
        actor_id=None,
        actor_name="anonymous",
        request_id=getattr(request.state, "request_id", None),
        source_ip=request.client.host if request.client else None,
        purpose=purpose[:300] if purpose else None,
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated("Authorization header must be 'Bearer <token>'")
    return value.strip()


async def check_csrf(request: Request) -> None:
    """Unsafe requests authenticated by cookie must carry the CSRF token (header or form)."""
    if request.method not in UNSAFE_METHODS or request.headers.get("authorization"):
        return
    if request.url.path.startswith("/api/") and SESSION_COOKIE not in request.cookies:
        # No cookie, nothing for a forged request to ride on: let authentication answer 401.
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
    platform = get_platform(request)
    secret = platform.settings.secret_key.get_secret_value()
    if not csrf_valid(secret, request.cookies.get(CSRF_COOKIE), token):
        raise PermissionDenied("missing or invalid CSRF token; reload the page and try again")


def current_principal(request: Request) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    platform = get_platform(request)
    ctx = audit_context(request)
    token = bearer_token(request)
    with platform.transaction() as session:
        if token is not None:
            principal = platform.identity.resolve_token(session, token, ctx)
        else:
            cookie = request.cookies.get(SESSION_COOKIE)
            if not cookie:
                raise NotAuthenticated("sign in first, or send 'Authorization: Bearer <token>'")
            principal = platform.identity.resolve_session(session, cookie, ctx)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class Page:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=1000, description="Items per page")] = 50,
        offset: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


PageDep = Annotated[Page, Depends()]
