"""Health and readiness; the video workers' refused groups."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from safecity import __version__
from safecity.db.migrate import current_revision, head_revision
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.workers import WorkerStatus

router = APIRouter()


@router.get("/health", tags=["system"])
def health(platform: PlatformDep) -> JSONResponse:
    """200 once the database answers, is migrated to head and start-up seeding is done."""
    checks: dict[str, object] = {"version": __version__}
    try:
        with platform.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(platform.engine)
    except Exception as exc:
        return JSONResponse({"status": "down", "database": f"unreachable: {exc}"}, 503)
    checks["database"] = platform.engine.dialect.name
    checks["migration"] = revision
    if revision != head_revision():
        return JSONResponse({**checks, "status": "starting", "reason": "migrations pending"}, 503)
    if not platform.ready:
        return JSONResponse({**checks, "status": "starting", "reason": "seeding"}, 503)
    return JSONResponse({**checks, "status": "ok"})


@router.get("/workers", tags=["system"])
def workers(platform: PlatformDep, principal: CurrentPrincipal) -> WorkerStatus:
    """The ingest and analytics groups of this process whose worker refused its
    configuration: why (credentials scrubbed), since when, their cameras. Needs
    ``workers.view`` and a province-wide scope."""
    return platform.workers.status(principal)
