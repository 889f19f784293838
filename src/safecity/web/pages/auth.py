"""Sign-in and sign-out."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from safecity.core.errors import NotAuthenticated, TooManyRequests
from safecity.identity.errors import SecondFactorRequired
from safecity.web.deps import CurrentPrincipal, PlatformDep, audit_context
from safecity.web.security import SESSION_COOKIE
from safecity.web.templating import render

router = APIRouter()

PURPOSES = (
    "Control-room monitoring",
    "Incident response",
    "Criminal investigation",
    "Traffic enforcement",
    "Camera onboarding and maintenance",
    "Audit and oversight",
    "Administration",
)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would let a phishing link borrow our login page.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/map"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/map", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None, ended: bool = False) -> Response:
    context: dict[str, object] = {"next": _safe_next(next), "purposes": PURPOSES}
    if ended:
        context["error"] = "Your session has expired or was closed; please sign in again."

    return render(request, "login.html", context)


@router.post("/login")
def login(
    request: Request,
    platform: PlatformDep,
    username: Annotated[str, Form(max_length=150)],
    password: Annotated[str, Form(max_length=200)],
    purpose: Annotated[str, Form(max_length=300)] = "",
    otp: Annotated[str, Form(max_length=12)] = "",
    next: Annotated[str, Form(max_length=500)] = "/map",
) -> Response:
    ctx = replace(audit_context(request), purpose=purpose or None)
    context = {
        "next": _safe_next(next),
        "purposes": PURPOSES,
        "username": username,
        "purpose": purpose,
    }
    failure: NotAuthenticated | TooManyRequests | None = None
    try:
        with platform.transaction() as session:
            try:
                signed_in = platform.identity.sign_in(
                    session, ctx, username=username, password=password, totp_code=otp or None
                )
            except (NotAuthenticated, TooManyRequests) as exc:
                # Commit, then answer: leaving the transaction by the exception rolled back
                # the failure count and its audit record (no throttling, no trail).
                failure = exc
        if failure is not None:
            raise failure
    except SecondFactorRequired as exc:
        return render(
            request,
            "login.html",
            {**context, "error": exc.message, "need_otp": True},
            status_code=401,
        )
    except TooManyRequests as exc:
        response = render(request, "login.html", {**context, "error": exc.message}, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    except NotAuthenticated as exc:
        return render(request, "login.html", {**context, "error": exc.message}, status_code=401)
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        signed_in.session_token,
        httponly=True,
        samesite="lax",
        secure=bool(platform.settings.tls_certfile),
        path="/",
        max_age=int(platform.identity.policy.ttl.total_seconds()),
    )
    return redirect


@router.post("/logout")
def logout(request: Request, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with platform.transaction() as session:
            platform.identity.sign_out(session, token, principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
