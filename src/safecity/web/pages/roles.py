"""Roles and what each one may do (permissions are data; this page shows them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from safecity.identity.permissions import PERMISSIONS
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.templating import render

router = APIRouter()


@router.get("/roles")
def roles_page(request: Request, platform: PlatformDep, principal: CurrentPrincipal) -> Response:
    with platform.transaction() as session:
        roles = platform.identity.list_roles(session, principal)
    return render(
        request, "roles.html", {"roles": roles, "permissions": PERMISSIONS}, principal=principal
    )
