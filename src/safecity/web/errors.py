"""One error shape for the API: {"error": {"code", "message", "field", "request_id"}}.
Pages get the same facts as HTML, and 401 on a page becomes a redirect to sign-in."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from safecity.core.errors import (
    Conflict,
    NotAuthenticated,
    PreconditionFailed,
    SafecityError,
    TooManyRequests,
)
from safecity.web.security import SESSION_COOKIE


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def error_body(
    request: Request,
    code: str,
    message: str,
    field: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "field": field,
        "request_id": getattr(request.state, "request_id", None),
    }
    if details:
        error["details"] = details
    return {"error": error}


def _render_error(request: Request, status: int, code: str, message: str) -> Response:
    templates = request.app.state.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "error.html",
        {"status": status, "code": code, "message": message},
        status_code=status,
    )


async def handle_safecity_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SafecityError)  # registered for SafecityError only
    headers = {}
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if _is_api(request):
        if isinstance(exc, NotAuthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(
            error_body(request, exc.code, exc.message, exc.field), exc.status, headers=headers
        )
    if isinstance(exc, NotAuthenticated):
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if SESSION_COOKIE not in request.cookies:
            return RedirectResponse(f"/login?next={target}", status_code=303)
        # A session cookie that no longer works: say so on the sign-in page, drop the cookie.
        response = RedirectResponse(f"/login?next={target}&ended=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return _render_error(request, exc.status, exc.code, exc.message)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "field": ".".join(str(p) for p in error["loc"] if p not in ("body", "query", "path")),
            "message": error["msg"],
        }
        for error in exc.errors()
    ]
    first = details[0] if details else {"field": None, "message": "invalid input"}
    message = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
    if not _is_api(request):
        return _render_error(request, 422, "invalid_input", message)
    return JSONResponse(
        error_body(request, "invalid_input", message, first["field"] or None, details), 422
    )


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    if not _is_api(request):
        return _render_error(request, exc.status_code, code, str(exc.detail))
    return JSONResponse(
        error_body(request, code, str(exc.detail)), exc.status_code, headers=exc.headers
    )


async def handle_database_conflict(request: Request, exc: Exception) -> Response:
    """Races the services could not see coming: another writer got there first."""
    if isinstance(exc, StaleDataError):
        error: SafecityError = PreconditionFailed(
            "someone else changed this record at the same moment; reload and try again"
        )
    else:
        error = Conflict("this conflicts with a record saved at the same moment; try again")
    return await handle_safecity_error(request, error)


def install(app: FastAPI) -> None:
    app.add_exception_handler(SafecityError, handle_safecity_error)
    app.add_exception_handler(StaleDataError, handle_database_conflict)
    app.add_exception_handler(IntegrityError, handle_database_conflict)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
