"""Reading and changing a camera's analytics configuration; changes reach workers via the outbox.

Permissions: ``analytics.view`` to read, ``analytics.configure`` to change,
both limited to cameras in the caller's scope (out of scope reads as 404).
Every change is audited with before/after in the same transaction, and an
``AnalyticsConfigChanged`` carrying the whole configuration is written to the
outbox, so the camera's worker hears of it only after the commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.contracts.analytics_config import (
    CARRIED_OBJECT_CLASSES,
    MOTION_CLASS,
    PEOPLE_AND_VEHICLE_CLASSES,
    AnalyticsConfigChanged,
    CameraAnalyticsConfig,
    ObjectLeftRule,
    StoppedVehicleRule,
    outline_crossing,
)
from safecity.core.errors import InvalidInput, PreconditionFailed
from safecity.db.outbox import enqueue
from safecity.identity.permissions import Principal, get_in_scope
from safecity.registry.analytics_models import CameraAnalytics
from safecity.registry.analytics_schemas import AnalyticsPublic
from safecity.registry.detector_catalogue import DetectorCatalogue
from safecity.registry.models import Camera

NEEDS_A_DETECTOR = (StoppedVehicleRule, ObjectLeftRule)
"""Rules about objects that stand still. Without a detector the camera tracks motion
only, and the motion gate's background takes in an object that stops within a second or
two (MOG2, measured 2026-12-07): the track ends and these rules could never fire."""


class AnalyticsConfigService:
    def __init__(self, audit: AuditLog, detectors: DetectorCatalogue | None = None) -> None:
        """``detectors``: the models folder the workers load detectors from, to refuse a
        configuration naming a detector or classes it lacks; None (or a folder this node
        does not have) leaves names unchecked."""
        self.audit = audit
        self.detectors = detectors

    def get_config(self, session: Session, principal: Principal, camera_id: int) -> AnalyticsPublic:
        camera = get_in_scope(session, Camera, principal, "analytics.view", camera_id)
        return _public(camera, session.get(CameraAnalytics, camera.id))

    def update_config(
        self,
        session: Session,
        principal: Principal,
        camera_id: int,
        data: CameraAnalyticsConfig,
        *,
        expected_version: int | None,
    ) -> AnalyticsPublic:
        principal.require("analytics.configure")
        camera = get_in_scope(session, Camera, principal, "analytics.view", camera_id)
        row = session.get(CameraAnalytics, camera.id)
        current = row.version if row is not None else 0
        if expected_version is not None and expected_version != current:
            raise PreconditionFailed(
                f"analytics of camera {camera.code} were changed by someone else (now version "
                f"{current}, you had {expected_version}); reload and apply your change again"
            )
        if data.enabled:
            # Whether its zones and rules can work matters only to a camera that runs
            # them: one stored before these checks can still be switched off as it is.
            _check_outlines(data)
            _check_object_left_classes(data)
            _check_detector_for_rules(data)
            if self.detectors is not None and self.detectors.readable and data.detector:
                _check_classes(data, data.detector, self.detectors.classes(data.detector))
        before = row.config if row is not None else None
        after = data.model_dump(mode="json")
        if row is not None and before == after:
            return _public(camera, row)
        if row is None:
            row = CameraAnalytics(camera_id=camera.id, config=after)
            session.add(row)
        else:
            row.config = after
        row.updated_by = principal.audit.actor_name[:150]
        session.flush()
        self.audit.append(
            session,
            principal.audit,
            action="update",
            object_type="camera_analytics",
            object_id=camera.id,
            district=camera.district.slug,
            summary=f"set analytics of camera {camera.code}: {len(data.zones)} zones, "
            f"{len(data.lines)} lines, {len(data.rules)} rules"
            f"{'' if data.enabled else ' (disabled)'}",
            before=before,
            after=after,
        )
        enqueue(
            session,
            AnalyticsConfigChanged(camera_id=camera.code, version=row.version, config=data),
        )
        return _public(camera, row)

    @staticmethod
    def worker_configs(session: Session) -> list[AnalyticsConfigChanged]:
        """Every enabled camera's configuration, for a launcher starting workers (no user)."""
        rows = session.execute(
            select(Camera.code, CameraAnalytics).join(
                CameraAnalytics, CameraAnalytics.camera_id == Camera.id
            )
        ).all()
        configs = []
        for code, row in rows:
            config = CameraAnalyticsConfig.model_validate(row.config)
            if config.enabled:
                configs.append(
                    AnalyticsConfigChanged(camera_id=code, version=row.version, config=config)
                )
        return configs


def _check_outlines(data: CameraAnalyticsConfig) -> None:
    for field, polygons in (("zones", data.zones), ("ignore", data.ignore)):
        for polygon in polygons:
            problem = outline_crossing(polygon.points)
            if problem is not None:
                raise InvalidInput(f"{polygon.name}: {problem}", field=field)


def _check_detector_for_rules(data: CameraAnalyticsConfig) -> None:
    """Refuse a rule that could never fire on this configuration rather than store it."""
    if data.detector is not None:
        return
    for rule in data.rules:
        if isinstance(rule, NEEDS_A_DETECTOR):
            raise InvalidInput(
                f"rule {rule.name!r} ({rule.kind}) needs a detector: without one the camera "
                "tracks motion only, and an object that stops fades into the background "
                "within a second or two, so the rule could never fire; name the camera's "
                "detector or remove the rule",
                field="rules",
            )
        named = sorted(set(rule.classes) - {MOTION_CLASS})
        if named:
            raise InvalidInput(
                f"rule {rule.name!r} watches {', '.join(named)}, but without a detector the "
                f"camera's objects are all of class {MOTION_CLASS} (moving regions), so the "
                f"rule could never fire; name the camera's detector, or watch {MOTION_CLASS} "
                "or leave the classes empty",
                field="rules",
            )


def _check_object_left_classes(data: CameraAnalyticsConfig) -> None:
    for rule in data.rules:
        if not isinstance(rule, ObjectLeftRule):
            continue
        refused = sorted(set(rule.classes) & PEOPLE_AND_VEHICLE_CLASSES)
        if refused:
            raise InvalidInput(
                f"rule {rule.name!r} (object_left) names {', '.join(refused)}: a person or "
                "vehicle standing still is not an object left behind (a car waiting at a red "
                "light would raise an alert); watch carried objects ("
                f"{', '.join(CARRIED_OBJECT_CLASSES)}), or use stopped_vehicle or loitering",
                field="rules",
            )


def _check_classes(data: CameraAnalyticsConfig, detector: str, known: tuple[str, ...]) -> None:
    """Refuse class names the detector does not report (the rule would never fire on
    them), and an object_left rule none of whose classes the detector finds."""
    for rule in data.rules:
        unknown = sorted(set(rule.classes) - set(known) - {MOTION_CLASS})
        if unknown:
            raise InvalidInput(
                f"rule {rule.name!r} names classes detector {detector!r} does not report: "
                f"{', '.join(unknown)}; it reports {', '.join(known)} (and {MOTION_CLASS} for "
                "moving regions it did not explain)",
                field="rules",
            )
        if isinstance(rule, ObjectLeftRule):
            watched = rule.classes or CARRIED_OBJECT_CLASSES
            if not set(watched) & set(known):
                raise InvalidInput(
                    f"rule {rule.name!r} (object_left) watches {', '.join(watched)}, and "
                    f"detector {detector!r} finds none of them (it reports "
                    f"{', '.join(known)}): name a detector that finds carried objects",
                    field="rules",
                )


def _public(camera: Camera, row: CameraAnalytics | None) -> AnalyticsPublic:
    if row is None:
        return AnalyticsPublic(
            camera_id=camera.id,
            camera_code=camera.code,
            version=0,
            config=CameraAnalyticsConfig(),
            updated_at=None,
            updated_by=None,
        )
    return AnalyticsPublic(
        camera_id=camera.id,
        camera_code=camera.code,
        version=row.version,
        config=CameraAnalyticsConfig.model_validate(row.config),
        updated_at=row.updated_at,
        updated_by=row.updated_by or None,
    )
