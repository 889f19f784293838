"""One plate read as an investigator reads it: the read, the other reads of the same
plate close to it in time, and the hotlist entries it matched.

What is shown goes through the permission filter (the other reads too) and the service
that builds it writes the audit record (:meth:`EventService.plate_read_detail`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from safecity.events.models import HotlistEntry, PlateReadRecord
from safecity.identity.permissions import Principal, restrict

NEARBY_WINDOW = timedelta(hours=1)
"""How far before and after a read the other reads of its plate are shown."""
NEARBY_LIMIT = 25
"""At most this many of them before the read, and as many after: the closest in time (a
parked car is read all day)."""


@dataclass(frozen=True)
class PlateReadDetail:
    """A read, the other reads of its plate within :data:`NEARBY_WINDOW` in the viewer's
    scope (in time order), how many such reads there are in all (more than shown past
    :data:`NEARBY_LIMIT` on a side), and the hotlist entries it matched (empty for a viewer
    without ``hotlists.view``; the ids are on the read)."""

    read: PlateReadRecord
    nearby: list[PlateReadRecord]
    nearby_total: int
    entries: list[HotlistEntry]


def nearby_reads(
    session: Session, acting: Principal, read: PlateReadRecord
) -> tuple[list[PlateReadRecord], int]:
    """The other reads of ``read``'s plate, OCR-confusable characters alike (a misread of
    the same car is what an investigator wants to see beside it), within the window, in
    ``acting``'s scope: the closest :data:`NEARBY_LIMIT` before it and after it, in time
    order, and how many there are in all."""
    stmt = restrict(PlateReadRecord, acting, "plates.search").where(
        PlateReadRecord.plate_key == read.plate_key,
        PlateReadRecord.at >= read.at - NEARBY_WINDOW,
        PlateReadRecord.at <= read.at + NEARBY_WINDOW,
        PlateReadRecord.id != read.id,
    )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    # The same moment counts as "before" for a lower id, "after" for a higher one.
    earlier = or_(
        PlateReadRecord.at < read.at,
        and_(PlateReadRecord.at == read.at, PlateReadRecord.id < read.id),
    )
    before = session.scalars(
        stmt.where(earlier)
        .order_by(PlateReadRecord.at.desc(), PlateReadRecord.id.desc())
        .limit(NEARBY_LIMIT)
    ).all()
    after = session.scalars(
        stmt.where(~earlier).order_by(PlateReadRecord.at, PlateReadRecord.id).limit(NEARBY_LIMIT)
    ).all()
    return [*reversed(before), *after], total


def matched_entries(
    session: Session, principal: Principal, read: PlateReadRecord
) -> list[HotlistEntry]:
    """The hotlist entries ``read`` matched, as they stand now, for a viewer who may see
    hotlists; none for one who may not."""
    if not read.hotlist_hits or not principal.has_permission("hotlists.view"):
        return []
    stmt = restrict(HotlistEntry, principal, "hotlists.view").where(
        HotlistEntry.id.in_(list(read.hotlist_hits))
    )
    return list(session.scalars(stmt.order_by(HotlistEntry.priority, HotlistEntry.id)))
