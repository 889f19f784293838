"""The signed-in user's own account: API tokens and the TOTP second factor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from safecity.core.errors import NotFound, SafecityError
from safecity.identity import totp
from safecity.identity.models import User
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.security import SESSION_COOKIE
from safecity.web.templating import render

router = APIRouter()


def _account(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal, **extra: object
) -> Response:
    with platform.transaction() as session:
        user = session.get(User, principal.user_id)
        if user is None:
            raise NotFound("user not found")
        public = platform.identity.describe(session, user)
        tokens = platform.identity.list_tokens(session, principal, principal.user_id)
    status = 422 if extra.get("error") else 200
    return render(
        request,
        "account.html",
        {"user": public, "tokens": tokens, **extra},
        principal=principal,
        status_code=status,
    )


@router.get("/account")
def account_page(request: Request, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    return _account(request, platform, principal)


@router.post("/account/tokens")
def token_create(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    name: Annotated[str, Form(min_length=1, max_length=120)],
) -> Response:
    with platform.transaction() as session:
        user = session.get(User, principal.user_id)
        if user is None:
            raise NotFound("user not found")
        _, raw = platform.identity.create_token(session, principal.audit, user=user, name=name)
    return _account(request, platform, principal, new_token=raw)


@router.post("/account/tokens/{token_id}/revoke")
def token_revoke(token_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    with platform.transaction() as session:
        platform.identity.revoke_token(session, principal, token_id)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/password")
def password_change(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    current_password: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        with platform.transaction() as session:
            platform.identity.reset_password(
                session,
                principal,
                principal.user_id,
                password,
                current_password=current_password,
                keep_session=request.cookies.get(SESSION_COOKIE),
            )
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _account(request, platform, principal, error=exc.message)
    return _account(
        request,
        platform,
        principal,
        notice="Password changed; your other sessions were signed out.",
    )


@router.post("/account/totp/begin")
def totp_begin(request: Request, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    with platform.transaction() as session:
        user = session.get(User, principal.user_id)
        if user is None:
            raise NotFound("user not found")
        try:
            secret = platform.identity.begin_totp(user)
        except SafecityError as exc:
            return _account(request, platform, principal, error=exc.message)
    return _account(
        request,
        platform,
        principal,
        totp_secret=secret,
        totp_qr=totp.provisioning_qr_svg(secret, principal.username),
    )


@router.post("/account/totp/confirm")
def totp_confirm(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    secret: Annotated[str, Form(min_length=16, max_length=64)],
    code: Annotated[str, Form(max_length=12)],
) -> Response:
    try:
        with platform.transaction() as session:
            platform.identity.confirm_totp(session, principal, secret, code)
    except SafecityError as exc:
        if exc.status in (401, 404):
            raise
        return _account(
            request,
            platform,
            principal,
            error=exc.message,
            totp_secret=secret,
            totp_qr=totp.provisioning_qr_svg(secret, principal.username),
        )
    return RedirectResponse("/account", status_code=303)
