"""The audit browser for auditors."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from safecity.web.api.audit import FilterDep
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep
from safecity.web.templating import render

router = APIRouter()
ACTIONS = (
    "login",
    "login_failed",
    "login_throttled",
    "logout",
    "view",
    "search",
    "export",
    "import",
    "create",
    "update",
    "delete",
    "roles_change",
    "scope_change",
    "password_reset",
    "token_create",
    "token_revoke",
    "totp_enable",
    "seed",
)


@router.get("/audit")
def audit_page(
    request: Request,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    flt: FilterDep,
) -> Response:
    with platform.transaction() as session:
        records, total = platform.audit_browser.search(
            session, principal, flt, limit=page.limit, offset=page.offset
        )
    query = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset") and v}
    return render(
        request,
        "audit.html",
        {
            "records": records,
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
            "filters": query,
            "actions": ACTIONS,
            "export_query": urlencode(query),
            "page_query": urlencode(query),
        },
        principal=principal,
    )
