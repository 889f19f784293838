"""Server-rendered pages (Jinja2 + htmx)."""

from fastapi import APIRouter

from safecity.web.pages import (
    account,
    admin,
    analytics,
    audit,
    auth,
    console,
    events,
    field,
    health,
    holds,
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
    events,
    holds,
    analytics,
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
