"""Field units: the roster (supervisors), GPS fixes and status reports (the units).

A field-unit account is linked to exactly one unit and reports only for it; another
unit reads as not found. Holders of ``units.change`` (roster managers with
``units.report``) may report for any unit of their districts, e.g. to mark one out
of service. GPS fixes are measurements: stored once each (a resend is answered, not
stored again), a late fix joins the track without moving the unit back, and none is
audited. Status reports are actions: audited and put on the incident's timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.command.catalogue import Catalogue
from safecity.command.dispatch import acknowledge, advance_incident
from safecity.command.incidents_models import Incident
from safecity.command.units_models import AVAILABLE, WORKING, Unit, UnitPosition
from safecity.command.units_schemas import (
    FixOutcome,
    FixResult,
    PositionBatchResult,
    PositionReport,
    PositionResult,
    StatusReport,
    TrackPoint,
    UnitCreate,
    UnitPublic,
    UnitUpdate,
)
from safecity.core.clock import utcnow
from safecity.core.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from safecity.identity.models import User
from safecity.identity.permissions import Principal, get_in_scope, in_scope, restrict
from safecity.registry.models import District

MAX_CLOCK_AHEAD = timedelta(minutes=2)
MAX_FIX_AGE = timedelta(days=1)
# Where a working unit may go next by its own report (the dispatcher sends, not the unit).
NEXT_WORKING = {
    "dispatched": {"en_route", "on_scene"},
    "en_route": {"on_scene"},
    "on_scene": {"transporting"},
    "transporting": {"at_facility"},
    "at_facility": set(),
}


def unit_public(unit: Unit) -> UnitPublic:
    return UnitPublic(
        id=unit.id,
        callsign=unit.callsign,
        kind=unit.kind,
        agency=unit.agency,
        capabilities=list(unit.capabilities or []),
        district=unit.district.slug,
        status=unit.status,
        status_at=unit.status_at,
        latitude=unit.latitude,
        longitude=unit.longitude,
        position_at=unit.position_at,
        incident_id=unit.incident_id,
        active=unit.active,
        version=unit.version,
    )


def _snapshot(unit: Unit) -> dict[str, Any]:
    return {
        "callsign": unit.callsign,
        "kind": unit.kind,
        "capabilities": list(unit.capabilities or []),
        "district_id": unit.district_id,
        "user_id": unit.user_id,
        "active": unit.active,
        "status": unit.status,
    }


def _check_fix_time(fix: PositionReport, now: datetime) -> None:
    if fix.recorded_at > now + MAX_CLOCK_AHEAD:
        raise InvalidInput("fix time is in the future; check the device clock", field="recorded_at")
    if fix.recorded_at < now - MAX_FIX_AGE:
        raise InvalidInput("fix is older than a day; not accepted", field="recorded_at")


def _reasons(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'fix'}: {problem['msg']}"
        for problem in error.errors(include_url=False)
    )


def _answer(index: int, at: datetime | None, outcome: FixOutcome, message: str) -> FixResult:
    return FixResult(index=index, recorded_at=at, outcome=outcome, message=message)


class UnitService:
    def __init__(self, audit: AuditLog, catalogue: Catalogue) -> None:
        self.audit = audit
        self.catalogue = catalogue

    # -- roster ----------------------------------------------------------------------------

    def list_units(
        self, session: Session, principal: Principal, *, district: str | None = None
    ) -> list[Unit]:
        stmt = restrict(Unit, principal, "units.view").where(Unit.active.is_(True))
        if district:
            stmt = stmt.where(
                Unit.district_id.in_(select(District.id).where(District.slug == district))
            )
        return list(session.scalars(stmt.order_by(Unit.callsign)))

    def get(self, session: Session, principal: Principal, unit_id: int) -> Unit:
        return get_in_scope(session, Unit, principal, "units.view", unit_id)

    def own_unit(self, session: Session, principal: Principal) -> Unit | None:
        """The unit a field-unit account reports for, if any."""
        principal.require("units.report")
        return session.scalars(select(Unit).where(Unit.user_id == principal.user_id)).first()

    def create(self, session: Session, principal: Principal, data: UnitCreate) -> Unit:
        principal.require("units.change")
        kind = self.catalogue.unit_kind(data.kind)
        district = self._district(session, principal, data.district)
        if session.scalars(select(Unit.id).where(Unit.callsign == data.callsign)).first():
            raise Conflict(f"call sign '{data.callsign}' is taken", field="callsign")
        unit = Unit(
            callsign=data.callsign,
            kind=kind.code,
            agency=kind.agency,
            capabilities=data.capabilities if data.capabilities is not None else kind.capabilities,
            district_id=district.id,
            status="available_quarters",
            status_at=utcnow(),
            user_id=self._reporter(session, data.username),
        )
        session.add(unit)
        session.flush()
        self.audit.append(
            session,
            principal.audit,
            action="create",
            object_type="unit",
            object_id=unit.id,
            district=district.slug,
            summary=f"added unit {unit.callsign} ({kind.label})",
            after=_snapshot(unit),
        )
        return unit

    def update(
        self,
        session: Session,
        principal: Principal,
        unit_id: int,
        data: UnitUpdate,
        *,
        expected_version: int | None,
    ) -> Unit:
        principal.require("units.change")
        unit = get_in_scope(session, Unit, principal, "units.view", unit_id)
        if expected_version is not None and expected_version != unit.version:
            raise PreconditionFailed(
                f"unit {unit.callsign} was changed by someone else (now version {unit.version}, "
                f"you had {expected_version}); reload and apply your change again"
            )
        before = _snapshot(unit)
        changes = data.model_dump(exclude_unset=True)
        if changes.get("capabilities") is not None:
            unit.capabilities = list(changes["capabilities"])
        if changes.get("district"):
            unit.district_id = self._district(session, principal, changes["district"]).id
        if "username" in changes:
            unit.user_id = self._reporter(session, changes["username"], keep=unit.id)
        if changes.get("active") is not None:
            if not changes["active"] and unit.incident_id is not None:
                raise Conflict(f"unit {unit.callsign} is working incident {unit.incident_id}")
            unit.active = changes["active"]
        session.flush()
        if not in_scope(session, unit, principal):
            raise InvalidInput("that district is not in your scope", field="district")
        after = _snapshot(unit)
        if after != before:
            self.audit.append(
                session,
                principal.audit,
                action="update",
                object_type="unit",
                object_id=unit.id,
                district=unit.district.slug,
                summary=f"updated unit {unit.callsign}",
                before=before,
                after=after,
            )
        return unit

    def _district(self, session: Session, principal: Principal, slug: str) -> District:
        district = session.scalars(select(District).where(District.slug == slug)).first()
        if district is None or (
            principal.district_ids is not None and district.id not in principal.district_ids
        ):
            raise InvalidInput(f"district '{slug}' is not in your scope", field="district")
        return district

    @staticmethod
    def _reporter(session: Session, username: str | None, *, keep: int | None = None) -> int | None:
        if not username:
            return None
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise InvalidInput(f"no user '{username}'", field="username")
        taken = session.scalars(select(Unit).where(Unit.user_id == user.id)).first()
        if taken is not None and taken.id != keep:
            raise Conflict(f"user '{username}' already reports for unit {taken.callsign}")
        return user.id

    # -- reports from the field -------------------------------------------------------------

    def reporting_unit(self, session: Session, principal: Principal, unit_id: int) -> Unit:
        """The unit named in the path, if ``principal`` may report for it (else 404)."""
        principal.require("units.report")
        unit = session.get(Unit, unit_id)
        own = unit is not None and unit.user_id == principal.user_id
        manager = (
            unit is not None
            and principal.has_permission("units.change")
            and in_scope(session, unit, principal)
        )
        if unit is None or not (own or manager) or not unit.active:
            raise NotFound(f"unit {unit_id} not found (you report only for your own unit)")
        return unit

    def report_position(
        self,
        session: Session,
        principal: Principal,
        unit_id: int,
        fix: PositionReport,
        *,
        now: datetime | None = None,
    ) -> PositionResult:
        unit = self.reporting_unit(session, principal, unit_id)
        _check_fix_time(fix, now or utcnow())
        duplicate = session.scalars(
            select(UnitPosition.id).where(
                UnitPosition.unit_id == unit.id, UnitPosition.recorded_at == fix.recorded_at
            )
        ).first()
        if duplicate is not None:
            return PositionResult(
                unit_id=unit.id, stored=False, current=False, message="already stored (resend)"
            )
        session.add(UnitPosition(unit_id=unit.id, **fix.model_dump()))
        current = unit.position_at is None or fix.recorded_at > unit.position_at
        if current:
            # Position columns only: a GPS fix must not race a dispatcher's change of the unit.
            session.execute(
                update(Unit)
                .where(Unit.id == unit.id)
                .values(latitude=fix.latitude, longitude=fix.longitude, position_at=fix.recorded_at)
            )
        session.flush()
        message = "position updated" if current else "stored in the track; a newer fix is current"
        return PositionResult(unit_id=unit.id, stored=True, current=current, message=message)

    def report_positions(
        self,
        session: Session,
        principal: Principal,
        unit_id: int,
        fixes: Sequence[object],
        *,
        now: datetime | None = None,
    ) -> PositionBatchResult:
        """Many fixes of one unit in one transaction, each answered on its own: a bad or
        repeated fix never costs the good ones. Only the newest fix can move the unit."""
        unit = self.reporting_unit(session, principal, unit_id)
        now = now or utcnow()
        results: dict[int, FixResult] = {}
        valid: list[tuple[int, PositionReport]] = []
        for index, raw in enumerate(fixes):
            try:
                fix = PositionReport.model_validate(raw)
                _check_fix_time(fix, now)
            except ValidationError as exc:
                results[index] = _answer(index, None, "refused", _reasons(exc))
            except InvalidInput as exc:
                results[index] = _answer(index, fix.recorded_at, "refused", exc.message)
            else:
                valid.append((index, fix))
        times = {fix.recorded_at for _, fix in valid}
        known = set(
            session.scalars(
                select(UnitPosition.recorded_at).where(
                    UnitPosition.unit_id == unit.id, UnitPosition.recorded_at.in_(times)
                )
            )
            if times
            else ()
        )
        position_at, newest = unit.position_at, None
        for index, fix in valid:
            at = fix.recorded_at
            if at in known:  # stored before, or earlier in this batch
                results[index] = _answer(index, at, "duplicate", "already stored (resend)")
                continue
            known.add(at)
            session.add(UnitPosition(unit_id=unit.id, **fix.model_dump()))
            if position_at is not None and at < position_at:
                message = "stored in the track; a newer fix is current"
                results[index] = _answer(index, at, "late", message)
                continue
            results[index] = _answer(index, at, "stored", "stored")
            if newest is None or at > newest.recorded_at:
                newest = fix
        if newest is not None:
            session.execute(
                update(Unit)
                .where(Unit.id == unit.id)
                .values(
                    latitude=newest.latitude,
                    longitude=newest.longitude,
                    position_at=newest.recorded_at,
                )
            )
        session.flush()
        ordered = [results[index] for index in range(len(fixes))]
        counts: dict[FixOutcome, int] = {"stored": 0, "duplicate": 0, "late": 0, "refused": 0}
        for result in ordered:
            counts[result.outcome] += 1
        return PositionBatchResult(
            unit_id=unit.id, current=newest is not None, counts=counts, results=ordered
        )

    def report_status(
        self, session: Session, principal: Principal, unit_id: int, report: StatusReport
    ) -> Unit:
        unit = self.reporting_unit(session, principal, unit_id)
        now = utcnow()
        at = report.at or now
        if at > now + MAX_CLOCK_AHEAD:
            raise InvalidInput("status time is in the future; check the device clock", field="at")
        if at < unit.status_at:
            raise Conflict(
                f"a newer status ({unit.status}) was already reported for {unit.callsign}; "
                "this one arrived late and was not applied"
            )
        self._check_transition(unit, report.status)
        before = _snapshot(unit)
        previous = unit.status
        unit.status = report.status
        unit.status_at = at
        if report.status in WORKING and report.status != previous:
            advance_incident(session, unit, report.status, at, principal.username)
        session.flush()
        self._audit_status(session, principal, unit, before, f"{previous} -> {unit.status}")
        return unit

    def acknowledge(self, session: Session, principal: Principal, unit_id: int) -> Unit:
        unit = self.reporting_unit(session, principal, unit_id)
        before = _snapshot(unit)
        acknowledge(session, unit, utcnow(), principal.username)
        session.flush()
        self._audit_status(session, principal, unit, before, "acknowledged its dispatch")
        return unit

    @staticmethod
    def _check_transition(unit: Unit, target: str) -> None:
        if target in ("officer_emergency", unit.status):
            return
        if unit.incident_id is None:
            if target in WORKING:
                raise Conflict(
                    f"unit {unit.callsign} has no assignment: it cannot be "
                    f"{target.replace('_', ' ')}"
                )
            return
        if target in AVAILABLE or target == "out_of_service":
            raise Conflict(
                f"unit {unit.callsign} is working incident {unit.incident_id}: the dispatcher "
                "clears it"
            )
        allowed = NEXT_WORKING.get(unit.status, set(WORKING))
        if target not in allowed:
            raise Conflict(f"unit {unit.callsign} cannot go from {unit.status} to {target}")

    def _audit_status(
        self, session: Session, principal: Principal, unit: Unit, before: dict[str, Any], what: str
    ) -> None:
        self.audit.append(
            session,
            principal.audit,
            action="update",
            object_type="unit",
            object_id=unit.id,
            district=unit.district.slug,
            summary=f"unit {unit.callsign}: {what}",
            before=before,
            after=_snapshot(unit),
        )

    def assignment(self, session: Session, principal: Principal, unit: Unit) -> Incident | None:
        """The incident ``unit`` is working, read through the unit rather than the district
        filter (a field unit holds no ``incidents.view``); the view is audited."""
        if unit.incident_id is None:
            return None
        incident = session.get(Incident, unit.incident_id)
        if incident is not None:
            self.audit.append(
                session,
                principal.audit,
                action="view",
                object_type="incident",
                object_id=incident.id,
                district=incident.district.slug,
                summary=f"unit {unit.callsign} viewed its assignment, incident {incident.id}",
            )
        return incident

    def track(
        self, session: Session, principal: Principal, unit_id: int, *, since: datetime
    ) -> list[TrackPoint]:
        unit = self.get(session, principal, unit_id)
        rows = session.scalars(
            select(UnitPosition)
            .where(UnitPosition.unit_id == unit.id, UnitPosition.recorded_at >= since)
            .order_by(UnitPosition.recorded_at)
        )
        return [
            TrackPoint(recorded_at=r.recorded_at, latitude=r.latitude, longitude=r.longitude)
            for r in rows
        ]
