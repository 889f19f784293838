"""The alert queue over HTTP: list, read, act. Every action is broadcast to the consoles
of the alert's district once it has committed."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Literal, Protocol

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from safecity.command.alerts_schemas import (
    DISMISS_REASONS,
    AlertAction,
    AlertDismiss,
    AlertPublic,
    AlertStatus,
    DismissReasonPublic,
)
from safecity.core.clock import as_utc
from safecity.core.errors import InvalidInput
from safecity.identity.permissions import Principal
from safecity.web.api.shapes import ERRORS, Paginated, if_match_version, page_of
from safecity.web.deps import CurrentPrincipal, PageDep, PlatformDep
from safecity.web.hub import ConsoleHub, HubDep
from safecity.web.platform import Platform

router = APIRouter(responses=ERRORS)  # type: ignore[arg-type]
IfMatch = Annotated[int | None, Depends(if_match_version)]


def expected_version(header: int | None, body: int | None) -> int | None:
    if header is not None and body is not None and header != body:
        raise InvalidInput("If-Match and 'version' disagree; send one of them", field="version")
    return header if header is not None else body


@router.get("/alerts", tags=["alerts"])
def list_alerts(
    platform: PlatformDep,
    principal: CurrentPrincipal,
    page: PageDep,
    status: Annotated[
        AlertStatus | Literal["open"] | None,
        Query(description="One status, or 'open' for new, acknowledged and escalated"),
    ] = None,
    priority: Annotated[int | None, Query(ge=1, le=5, description="Exactly this priority")] = None,
    district: Annotated[str | None, Query(description="District slug")] = None,
    since: Annotated[
        datetime | None, Query(description="Seen at or after (ISO 8601; UTC if no zone)")
    ] = None,
) -> Paginated[AlertPublic]:
    """Most urgent first, then the longest waiting."""
    with platform.transaction() as session:
        items, total = platform.alerts.list_alerts(
            session,
            principal,
            status=status,
            priority=priority,
            district=district,
            since=as_utc(since) if since is not None else None,
            limit=page.limit,
            offset=page.offset,
        )
    return Paginated(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/alerts/dismiss-reasons", tags=["alerts"])
def dismiss_reasons(principal: CurrentPrincipal, page: PageDep) -> Paginated[DismissReasonPublic]:
    """The reason codes ``dismiss`` accepts, with their labels."""
    principal.require("alerts.view")
    items = [DismissReasonPublic(code=k, label=v) for k, v in DISMISS_REASONS.items()]
    return page_of(items, limit=page.limit, offset=page.offset)


@router.get("/alerts/{alert_id}", tags=["alerts"])
def get_alert(alert_id: int, platform: PlatformDep, principal: CurrentPrincipal) -> AlertPublic:
    with platform.transaction() as session:
        return platform.alerts.get(session, principal, alert_id)


@router.get(
    "/alerts/{alert_id}/snapshot",
    tags=["alerts"],
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def alert_snapshot(
    alert_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    which: Annotated[
        Literal["snapshot", "plate"], Query(description="The scene, or the plate crop")
    ] = "snapshot",
) -> Response:
    """The JPEG the source attached (a scene with privacy masks burned in); views are audited."""
    with platform.transaction() as session:
        jpeg = platform.alerts.image(session, principal, alert_id, which)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


class _Action(Protocol):
    """An :class:`AlertsService` action on one alert (acknowledge, escalate, ...)."""

    def __call__(
        self,
        session: Session,
        principal: Principal,
        alert_id: int,
        *,
        expected_version: int | None = None,
        note: str = "",
    ) -> AlertPublic: ...


def _act(
    action: _Action,
    alert_id: int,
    body: AlertAction,
    version: int | None,
    platform: Platform,
    principal: Principal,
    hub: ConsoleHub,
) -> AlertPublic:
    """Run ``action`` in one transaction; once committed, broadcast the alert to the
    consoles of its district."""
    with platform.transaction() as session:
        alert = action(
            session,
            principal,
            alert_id,
            expected_version=expected_version(version, body.version),
            note=body.note,
        )
    hub.broadcast(
        alert.district_id, "alert", alert.model_dump(mode="json"), camera_id=alert.camera_id
    )
    return alert


@router.post("/alerts/{alert_id}/acknowledge", tags=["alerts"])
def acknowledge(
    alert_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
    version: IfMatch,
    body: AlertAction | None = None,
) -> AlertPublic:
    action = platform.alerts.acknowledge
    return _act(action, alert_id, body or AlertAction(), version, platform, principal, hub)


@router.post("/alerts/{alert_id}/escalate", tags=["alerts"])
def escalate(
    alert_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
    version: IfMatch,
    body: AlertAction | None = None,
) -> AlertPublic:
    action = platform.alerts.escalate
    return _act(action, alert_id, body or AlertAction(), version, platform, principal, hub)


@router.post("/alerts/{alert_id}/dismiss", tags=["alerts"])
def dismiss(
    alert_id: int,
    body: AlertDismiss,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
    version: IfMatch,
) -> AlertPublic:
    """Close the alert with a reason. A hotlist hit dismissed as ``misread_plate`` gets
    the "not a match" verdict, as with reject-match."""
    action = partial(platform.alerts.dismiss, reason=body.reason)
    return _act(action, alert_id, body, version, platform, principal, hub)


@router.post("/alerts/{alert_id}/confirm-match", tags=["alerts"])
def confirm_match(
    alert_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
    version: IfMatch,
    body: AlertAction | None = None,
) -> AlertPublic:
    """A hotlist hit: the plate crop shows the listed plate. Acknowledges a new alert and
    allows field action (an incident); 409 for other alerts or a match already checked."""
    action = platform.alerts.confirm_match
    return _act(action, alert_id, body or AlertAction(), version, platform, principal, hub)


@router.post("/alerts/{alert_id}/reject-match", tags=["alerts"])
def reject_match(
    alert_id: int,
    platform: PlatformDep,
    principal: CurrentPrincipal,
    hub: HubDep,
    version: IfMatch,
    body: AlertAction | None = None,
) -> AlertPublic:
    """A hotlist hit that is a false read: the alert is dismissed as ``misread_plate``."""
    action = platform.alerts.reject_match
    return _act(action, alert_id, body or AlertAction(), version, platform, principal, hub)
