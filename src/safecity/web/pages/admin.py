"""Users and roles administration."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from safecity.core.errors import SafecityError
from safecity.identity.schemas import ScopeUpdate, UserCreate, UserUpdate
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep
from safecity.web.pages.forms import validation_messages
from safecity.web.templating import render

router = APIRouter()


def _choices(platform: PlatformDep, principal: CurrentPrincipal) -> dict[str, Any]:
    with platform.transaction() as session:
        return {
            "roles": platform.identity.list_roles(session, principal),
            "agencies": platform.identity.list_agencies(session),
            "districts": platform.registry.list_districts(session, principal),
        }


@router.get("/users")
def users_page(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    q: str = "",
) -> Response:
    with platform.transaction() as session:
        users, total = platform.identity.list_users(
            session, principal, query=q or None, limit=page.limit, offset=page.offset
        )
        rows = [platform.identity.describe(session, u) for u in users]
    return render(
        request,
        "users.html",
        {
            "users": rows,
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
            "q": q,
            **_choices(platform, principal),
        },
        principal=principal,
    )


@router.post("/users")
async def user_create(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    form = await request.form()
    data = {
        "username": form.get("username", ""),
        "full_name": form.get("full_name", ""),
        "agency": form.get("agency") or None,
        "password": form.get("password", ""),
        "roles": form.getlist("roles"),
        "districts": form.getlist("districts"),
        "all_districts": form.get("all_districts") == "on",
    }

    def save() -> int:
        with platform.transaction() as session:
            return platform.identity.create_user(
                session, principal, UserCreate.model_validate(data)
            ).id

    try:
        user_id = await run_in_threadpool(save)
    except ValidationError as exc:
        error = "; ".join(f"{k}: {v}" for k, v in validation_messages(exc).items())
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        error = exc.message
    else:
        return RedirectResponse(f"/users/{user_id}", status_code=303)

    def reload() -> Response:
        with platform.transaction() as session:
            users, total = platform.identity.list_users(session, principal, limit=50, offset=0)
            rows = [platform.identity.describe(session, u) for u in users]
        values = {k: v for k, v in data.items() if k != "password"}
        return render(
            request,
            "users.html",
            {
                "users": rows,
                "total": total,
                "limit": 50,
                "offset": 0,
                "q": "",
                "error": error,
                "values": values,
                **_choices(platform, principal),
            },
            principal=principal,
            status_code=422,
        )

    return await run_in_threadpool(reload)


@router.get("/users/{user_id}")
def user_page(
    request: Request,
    user_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    error: str = "",
) -> Response:
    with platform.transaction() as session:
        user = platform.identity.describe(
            session, platform.identity.get_user(session, principal, user_id)
        )
        tokens = (
            platform.identity.list_tokens(session, principal, user_id)
            if principal.has_permission("users.change") or principal.user_id == user_id
            else []
        )
    return render(
        request,
        "user.html",
        {"user": user, "tokens": tokens, "error": error, **_choices(platform, principal)},
        principal=principal,
    )


def _back(user_id: int, error: str | None = None) -> RedirectResponse:
    suffix = f"?error={quote(error)}" if error else ""
    return RedirectResponse(f"/users/{user_id}{suffix}", status_code=303)


@router.post("/users/{user_id}/roles")
async def user_roles(
    request: Request, user_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    roles = [r for r in (await request.form()).getlist("roles") if isinstance(r, str)]

    def save() -> None:
        with platform.transaction() as session:
            platform.identity.set_roles(session, principal, user_id, roles)

    try:
        await run_in_threadpool(save)
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _back(user_id, exc.message)
    return _back(user_id)


@router.post("/users/{user_id}/scope")
async def user_scope(
    request: Request, user_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    form = await request.form()
    cameras_text = str(form.get("cameras") or "")
    try:
        cameras = [int(x) for x in cameras_text.replace(",", " ").split()]
        scope = ScopeUpdate(
            districts=[d for d in form.getlist("districts") if isinstance(d, str)],
            all_districts=form.get("all_districts") == "on",
            cameras=cameras,
        )

        def save() -> None:
            with platform.transaction() as session:
                platform.identity.set_scope(session, principal, user_id, scope)

        await run_in_threadpool(save)
    except ValueError:
        return _back(user_id, "camera ids must be whole numbers separated by commas")
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _back(user_id, exc.message)
    return _back(user_id)


@router.post("/users/{user_id}/active")
def user_active(
    user_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    active: Annotated[str, Form()],
) -> Response:
    try:
        with platform.transaction() as session:
            platform.identity.update_user(
                session, principal, user_id, UserUpdate(is_active=active == "yes")
            )
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _back(user_id, exc.message)
    return _back(user_id)


@router.post("/users/{user_id}/password")
def user_password(
    user_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    password: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        with platform.transaction() as session:
            platform.identity.reset_password(session, principal, user_id, password)
    except SafecityError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _back(user_id, exc.message)
    return _back(user_id)
