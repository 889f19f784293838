"""Jinja2 set-up and the page renderer that hands every form its CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from safecity import __version__
from safecity.core.clock import format_pkt
from safecity.core.settings import Settings
from safecity.identity.permissions import Principal
from safecity.web.security import CSRF_COOKIE, csrf_token_for, new_csrf_cookie


def configure_templates(templates: Jinja2Templates, settings: Settings) -> Jinja2Templates:
    env = templates.env
    env.autoescape = True
    env.filters["pkt"] = format_pkt
    env.globals["version"] = __version__
    env.globals["tile_url"] = settings.tile_url or ""
    env.globals["demo"] = settings.demo
    return templates


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings: Settings = request.app.state.platform.settings
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = cookie is None
    if cookie is None:
        cookie = new_csrf_cookie()
    ctx = {
        "principal": principal,
        "csrf_token": csrf_token_for(settings.secret_key.get_secret_value(), cookie),
        "can": (lambda code: principal is not None and principal.has_permission(code)),
        **(context or {}),
    }
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    if fresh:
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            httponly=True,
            samesite="strict",
            secure=bool(settings.tls_certfile),
            path="/",
        )
    return response
