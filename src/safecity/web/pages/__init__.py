"""Server-rendered pages (Jinja2 + htmx)."""

from fastapi import APIRouter

from safecity.web.pages import (
    account,
    admin,
    audit,
    auth,
    console,
    field,
    health,
    incidents,
    kpis,
    onboarding,
    power,
    recordings,
    registry,
    roles,
)

router = APIRouter(include_in_schema=False)
for module in (
    auth,
    onboarding,
    registry,
    health,
    power,
    recordings,
    admin,
    roles,
    audit,
    account,
    console,
    incidents,
    field,
    kpis,
):
    router.include_router(module.router)
