"""The composition root of the control plane: engine, keys and services, built once
by whoever starts the application (CLI, tests), never at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy import Engine, MetaData
from sqlalchemy.orm import Session, sessionmaker

from safecity.audit import models as audit_models
from safecity.audit.log import AuditLog
from safecity.audit.service import AuditBrowser
from safecity.command import alerts_models, incidents_models, units_models
from safecity.command.alerts_service import AlertsService
from safecity.command.catalogue import load_catalogue
from safecity.command.correlation import CorrelationWindow
from safecity.command.dispatch import DispatchService
from safecity.command.dispatch_routing import StraightLineEstimator
from safecity.command.incidents import IncidentService
from safecity.command.kpis import KpiService
from safecity.command.units import UnitService
from safecity.core.errors import ConfigError
from safecity.core.secrets import CredentialCipher, KeyStore
from safecity.core.settings import Settings
from safecity.db import outbox
from safecity.db.base import Base
from safecity.db.engine import make_engine, make_session_factory
from safecity.events import models as event_models
from safecity.events.hotlists import HotlistService
from safecity.events.service import EventRetention, EventService
from safecity.identity import models as identity_models
from safecity.identity.service import IdentityService, SessionPolicy
from safecity.recordings import models as recording_models
from safecity.recordings.retention import RetentionPolicy
from safecity.recordings.service import RecordingService
from safecity.registry import analytics_models, power_models
from safecity.registry import models as registry_models
from safecity.registry.analytics_service import AnalyticsConfigService
from safecity.registry.detector_catalogue import DetectorCatalogue
from safecity.registry.power import PowerService
from safecity.registry.service import RegistryService
from safecity.registry.transfer import CameraImporter
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR
from safecity.web.workers import WorkerBoard

# Every table module, so that the metadata handed to migrations is complete.
MODEL_MODULES = (
    audit_models,
    identity_models,
    registry_models,
    power_models,
    analytics_models,
    recording_models,
    event_models,
    alerts_models,
    incidents_models,
    units_models,
    outbox,
)


def metadata() -> MetaData:
    return Base.metadata


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: KeyStore
    cipher: CredentialCipher
    audit: AuditLog
    audit_browser: AuditBrowser
    identity: IdentityService
    registry: RegistryService
    importer: CameraImporter
    power: PowerService
    recordings: RecordingService
    retention: RetentionPolicy
    events: EventService
    hotlists: HotlistService
    analytics_config: AnalyticsConfigService
    alerts: AlertsService
    incidents: IncidentService
    units: UnitService
    dispatch: DispatchService
    kpis: KpiService
    ready: bool = field(default=False)
    workers: WorkerBoard = field(default_factory=WorkerBoard)
    """The ingest and analytics groups this process runs (``video_workers``), if any."""

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit (and seal the audit chain) on success, else roll back."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def build_platform(settings: Settings, *, engine: Engine | None = None) -> Platform:
    keys = KeyStore(settings.keys_dir)
    keys.ensure()
    engine = engine or make_engine(settings.sqlalchemy_url)
    sessions = make_session_factory(engine)
    cipher = keys.credentials_cipher()
    audit = AuditLog(keys.audit_signing_key())
    audit.attach(sessions)
    policy = SessionPolicy(
        ttl=timedelta(minutes=settings.session_ttl_minutes),
        idle=timedelta(minutes=settings.session_idle_minutes),
        max_failures=settings.login_max_failures,
        pause=timedelta(seconds=settings.login_pause_seconds),
    )
    registry = RegistryService(audit, cipher)
    catalogue = load_catalogue(settings.incident_catalogue)
    incidents = IncidentService(audit, catalogue)
    alerts = AlertsService(
        audit,
        settings.media_dir,
        CorrelationWindow(timedelta(seconds=settings.alert_correlation_seconds)),
    )
    return Platform(
        settings=settings,
        engine=engine,
        sessions=sessions,
        keys=keys,
        cipher=cipher,
        audit=audit,
        audit_browser=AuditBrowser(audit),
        identity=IdentityService(audit, cipher, policy),
        registry=registry,
        importer=CameraImporter(registry),
        power=PowerService(),
        recordings=RecordingService(audit, settings.media_dir),
        retention=retention_policy(settings),
        events=EventService(
            audit,
            settings.media_dir,
            rule_alerts={str(kind): p for kind, p in settings.rule_alerts.items()},
            retention=EventRetention(
                unmatched_read_days=settings.plate_read_days,
                hit_read_days=settings.plate_hit_days,
                rule_event_days=settings.rule_event_days,
            ),
        ),
        hotlists=HotlistService(audit, on_removal=alerts.mark_entry_removed),
        analytics_config=AnalyticsConfigService(
            audit,
            # Where the workers look: the operator's folder, else in the demo the package's
            # (`video_workers`); a deployment without one gives its workers none.
            DetectorCatalogue(
                settings.analytics_models_dir or (BUNDLED_MODELS_DIR if settings.demo else None)
            ),
        ),
        alerts=alerts,
        incidents=incidents,
        units=UnitService(audit, catalogue),
        dispatch=DispatchService(
            audit,
            catalogue,
            StraightLineEstimator(road_factor=settings.dispatch_road_factor),
            incidents.changeable,
        ),
        kpis=KpiService(audit),
    )


# Which environment variable each policy field comes from, for error messages.
_RETENTION_SETTING = {
    "days_by_class": "SAFECITY_RETENTION_DAYS",
    "event_days_by_class": "SAFECITY_RETENTION_EVENT_DAYS",
    "quota_bytes": "SAFECITY_RECORDING_QUOTA_GB",
}


def retention_policy(settings: Settings) -> RetentionPolicy:
    """The recordings' retention from the settings; a wrong table stops the start-up."""
    try:
        return RetentionPolicy(
            days_by_class=settings.retention_days,
            event_days_by_class=settings.retention_event_days,
            quota_bytes=int(settings.recording_quota_gb * 1e9)
            if settings.recording_quota_gb
            else None,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{_RETENTION_SETTING.get(str(error['loc'][0]), error['loc'][0])}: "
            f"{error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        raise ConfigError(f"invalid retention settings: {problems}") from exc
