"""The audit log for auditors: browse, filter, export as CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from safecity.audit.schemas import AuditRecordPublic
from safecity.audit.service import AuditFilter
from safecity.core.clock import PKT, as_utc
from safecity.web.api.shapes import ERRORS, Paginated
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]


def _blank_to_none(value: object) -> object:
    # The audit page's filter form sends its empty date fields as "since=&until=".
    return value or None


OptionalTime = Annotated[datetime | None, BeforeValidator(_blank_to_none)]


def audit_filter(
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    district: str | None = None,
    since: Annotated[OptionalTime, Query(description="From this time (PKT if no zone)")] = None,
    until: Annotated[OptionalTime, Query(description="Before this time (PKT if no zone)")] = None,
    q: Annotated[str | None, Query(description="Text in the summary")] = None,
) -> AuditFilter:
    return AuditFilter(
        actor=actor or None,
        action=action or None,
        object_type=object_type or None,
        object_id=object_id or None,
        district=district or None,
        since=_as_utc_from_pkt(since),
        until=_as_utc_from_pkt(until),
        text=q or None,
    )


def _as_utc_from_pkt(value: datetime | None) -> datetime | None:
    # People in the control room think in Pakistan time; a time without a zone is PKT.
    if value is None:
        return None
    return as_utc(value.replace(tzinfo=PKT) if value.tzinfo is None else value)


FilterDep = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("/audit", tags=["audit"])
def list_audit(
    platform: PlatformDep, principal: CurrentPrincipal, page: PageDep, flt: FilterDep
) -> Paginated[AuditRecordPublic]:
    with platform.transaction() as session:
        records, total = platform.audit_browser.search(
            session, principal, flt, limit=page.limit, offset=page.offset
        )
        items = [AuditRecordPublic.model_validate(r, from_attributes=True) for r in records]
    return Paginated(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/audit/export.csv", tags=["audit"])
def export_audit(
    platform: PlatformDep, principal: CurrentPrincipal, flt: FilterDep
) -> StreamingResponse:
    with platform.transaction() as session:
        chunks = list(platform.audit_browser.export_csv(session, principal, flt))
    return StreamingResponse(
        iter(chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
