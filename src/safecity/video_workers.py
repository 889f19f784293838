"""The video workers a serving process runs beside the control plane: ingest and analytics.

``safecity up`` and ``safecity demo`` start the same two kinds, from the registry:

- ingest groups (``ingest.groups.IngestGroups``, processes of several cameras each
  under the same supervisor, ``python -m safecity.ingest --group NAME``) for every
  camera with a main stream URL and a status of installed, online or offline (not
  planned, in maintenance or decommissioned). Each camera's health is reported and it
  is recorded as its mode says (``off``: health only); the groups follow the registry
  on the bus: a camera installed or given a stream later joins a group at once, one
  decommissioned leaves, a new stream URL or recording mode reaches its group;
- analytics groups (``analytics.groups.CameraGroups``, processes of several cameras
  each under a supervisor that restarts them) for every camera whose analytics is
  enabled and which ingest runs (the same rule), following later configuration and
  registry changes on the bus (a camera enabled later joins a group at once, one
  decommissioned leaves, a new stream URL reaches its group).

Stream URLs are decrypted from the registry in this (control-plane) process and reach
a worker only through the pipe to its stdin, never a bus subject, command line,
environment or log. Everything started is stopped by the ``ExitStack`` it was
registered on. Both kinds are put on ``platform.workers``, which shows the groups
whose process refused its configuration (API ``/api/v1/workers``, the health page).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from pydantic import TypeAdapter
from sqlalchemy import select

from safecity.analytics.groups import CameraGroups, GroupCommand
from safecity.contracts.ingest import RecordingMode
from safecity.core.errors import ConfigError
from safecity.core.settings import Settings
from safecity.ingest.groups import IngestCamera, IngestGroups
from safecity.ingest.worker import STREAM_URL_ENV
from safecity.registry.models import RUNNING_STATUSES, Camera
from safecity.web.platform import Platform

log = logging.getLogger(__name__)

SEGMENT_SECONDS = 10
RECORDED_STATUSES = RUNNING_STATUSES
_RECORDING_MODE: TypeAdapter[RecordingMode] = TypeAdapter(RecordingMode)


def registry_ingest_cameras(
    platform: Platform, codes: Sequence[str] | None = None
) -> list[IngestCamera]:
    """The registry's cameras that are ingested (or those of ``codes``), by code."""
    query = select(Camera).where(
        Camera.main_stream_enc.is_not(None),
        Camera.status.in_(RECORDED_STATUSES),
    )
    if codes is not None:
        query = query.where(Camera.code.in_(list(codes)))
    with platform.sessions() as session:
        cameras = session.scalars(query.order_by(Camera.code)).all()
        found = [(c.code, c.main_stream_enc, c.recording_mode) for c in cameras]
    cameras_found = []
    for code, stored, mode in found:
        url = platform.registry.cipher.decrypt(stored) if stored else ""
        if url:
            cameras_found.append(IngestCamera(code, url, _RECORDING_MODE.validate_python(mode)))
    return cameras_found


def start_ingest(
    stack: ExitStack,
    settings: Settings,
    platform: Platform,
    bus_url: str,
    codes: Sequence[str] | None = None,
) -> IngestGroups:
    """Ingest groups for the registry's cameras (or only those of ``codes``), following
    later registry changes on the bus; stopped with the stack (each group closes its
    segments)."""
    folder = settings.data_dir / "ingest"
    folder.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "safecity.ingest",
        "--media-root",
        str(settings.media_dir),
        "--bus-url",
        bus_url,
        "--segment-seconds",
        str(SEGMENT_SECONDS),
    ]
    env = {key: value for key, value in os.environ.items() if key != STREAM_URL_ENV}
    wanted = None if codes is None else frozenset(codes)

    def resolve(code: str) -> IngestCamera | None:
        found = registry_ingest_cameras(platform, [code])
        return found[0] if found else None

    groups = IngestGroups(
        GroupCommand(argv=argv, env=env, log_dir=folder),
        resolve,
        per_process=settings.ingest_cameras_per_process,
        only=None if wanted is None else wanted.__contains__,
    )
    groups.start()
    stack.callback(groups.stop)
    platform.workers.add("ingest", groups)
    for camera in registry_ingest_cameras(platform, codes):
        groups.apply(camera)
    # Not waited for, as analytics: the cameras placed above already run.
    groups.follow(bus_url, timeout=None)
    return groups


def analytics_worker_argv(
    settings: Settings, bus_url: str, *, default_models_dir: Path | None = None
) -> list[str]:
    """The command line of an analytics worker process; the operator's models folder
    (``settings.analytics_models_dir``) wins over ``default_models_dir``."""
    argv = [
        sys.executable,
        "-m",
        "safecity.analytics",
        "--media-root",
        str(settings.media_dir),
        "--bus-url",
        bus_url,
        "--plate-locator",
        settings.analytics_plate_locator,
        "--plate-rules",
        settings.analytics_plate_rules,
    ]
    if settings.analytics_plate_rules_file is not None:
        argv += ["--plate-rules-file", str(settings.analytics_plate_rules_file)]
    argv.append("--plate-unsmear" if settings.analytics_plate_unsmear else "--no-plate-unsmear")
    models_dir = settings.analytics_models_dir or default_models_dir
    if models_dir is not None:
        argv += ["--models-dir", str(models_dir)]
    return argv


def analytics_problems(settings: Settings) -> list[str]:
    """Reasons the analytics workers could not start with these settings: a plate format
    rule set (``analytics_plate_rules``, ``analytics_plate_rules_file``) that is unknown or
    whose file is missing or invalid. Reads the rules file (validation alone does no I/O)."""
    from safecity.analytics.main import plate_rules

    problems = []
    try:
        plate_rules(settings.analytics_plate_rules, settings.analytics_plate_rules_file)
    except ConfigError as exc:
        problems.append(f"SAFECITY_ANALYTICS_PLATE_RULES / _FILE: {exc.message}")
    return problems


def start_analytics(
    stack: ExitStack,
    settings: Settings,
    platform: Platform,
    bus_url: str,
    *,
    default_models_dir: Path | None = None,
) -> CameraGroups:
    """Analytics groups for every camera whose analytics is enabled, following later
    changes on the bus; stopped with the stack.

    The workers load detectors from ``settings.analytics_models_dir``; without one, from
    ``default_models_dir`` (the demo passes the package's bundled models)."""
    with platform.sessions() as session:
        enabled = platform.analytics_config.worker_configs(session)
    folder = settings.data_dir / "analytics"
    folder.mkdir(parents=True, exist_ok=True)
    argv = analytics_worker_argv(settings, bus_url, default_models_dir=default_models_dir)
    groups = CameraGroups(
        GroupCommand(argv=argv, env=dict(os.environ), log_dir=folder),
        registry_stream_url(platform),
        per_process=settings.analytics_cameras_per_process,
    )
    groups.start()
    stack.callback(groups.stop)
    platform.workers.add("analytics", groups)
    for message in enabled:
        groups.apply(message)
    # Not waited for: the cameras placed above already run, and the start is not held up by
    # the subscription (a failure is logged; only later changes would be missed).
    groups.follow(bus_url, timeout=None)
    return groups


def registry_stream_url(platform: Platform) -> Callable[[str], str | None]:
    """A camera's main stream URL with its credentials, decrypted from the registry, for the
    analytics supervisor in this process (it hands it to a worker over a private pipe);
    None while ingest would not run the camera either (the same rule,
    ``registry_ingest_cameras``: no stream, or planned, in maintenance, decommissioned)."""

    def resolve(code: str) -> str | None:
        found = registry_ingest_cameras(platform, [code])
        return found[0].stream_url if found else None

    return resolve
