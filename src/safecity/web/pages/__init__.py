"""Server-rendered pages (Jinja2 + htmx)."""

from fastapi import APIRouter, Response

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
    hotlist_relist,
    incidents,
    kpis,
    onboarding,
    plate_read,
    power,
    recordings,
    registry,
    roles,
    rule_events,
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
    rule_events,
    plate_read,
    hotlist_relist,
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


@router.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for it on every tab, an alert's picture opened alone included; there
    is no icon, and "no content" is an answer where 404 is an error."""
    return Response(status_code=204)
