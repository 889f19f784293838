"""The video workers a serving process runs beside the control plane: ingest and analytics.

``safecity up`` and ``safecity demo`` start the same two kinds, from the registry:

- one ingest worker process per camera (``python -m safecity.ingest``) with a main
  stream URL and a status of installed, online or offline (not planned, in
  maintenance or decommissioned), told its stream URL in its environment and its
  recording mode on its command line. It reports the camera's health and records as
  the mode says (``off``: health only); a later change of mode reaches the running
  worker over the bus, but a camera added or given a stream later gets its worker at
  the next start;
- analytics groups (``analytics.groups.CameraGroups``, processes of several cameras
  each under a supervisor that restarts them) for every camera whose analytics is
  enabled and whose stream URL is known, following later configuration changes on the
  bus (a camera enabled later joins a group at once).

Stream URLs are decrypted from the registry in this (control-plane) process and reach
a worker only through its environment (ingest) or the pipe to its stdin (analytics),
never a bus subject, command line or log. Everything started is stopped by the
``ExitStack`` it was registered on.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from sqlalchemy import select

from safecity.analytics.groups import CameraGroups, GroupCommand
from safecity.core import processes
from safecity.core.settings import Settings
from safecity.ingest.worker import STREAM_URL_ENV
from safecity.registry.models import Camera
from safecity.web.platform import Platform

log = logging.getLogger(__name__)

SEGMENT_SECONDS = 10
RECORDED_STATUSES = ("installed", "online", "offline")


@dataclass(frozen=True)
class IngestCamera:
    """One camera for an ingest worker: code, stream URL (with credentials), recording mode."""

    code: str
    stream_url: str
    recording_mode: str

    def __repr__(self) -> str:  # never the URL: it may carry a password
        return f"IngestCamera(code={self.code!r}, recording_mode={self.recording_mode!r})"


def registry_ingest_cameras(
    platform: Platform, codes: Sequence[str] | None = None
) -> list[IngestCamera]:
    """The registry's cameras that get an ingest worker (or those of ``codes``), by code."""
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
            cameras_found.append(IngestCamera(code, url, mode))
    return cameras_found


def start_ingest(
    stack: ExitStack, settings: Settings, bus_url: str, cameras: Sequence[IngestCamera]
) -> list[str]:
    """One ingest worker process per camera, stopped (SIGTERM, then SIGKILL) with the stack;
    returns the codes started."""
    for camera in cameras:
        env = {**os.environ, STREAM_URL_ENV: camera.stream_url}
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "safecity.ingest",
                "--camera-id",
                camera.code,
                "--media-root",
                str(settings.media_dir),
                "--bus-url",
                bus_url,
                "--segment-seconds",
                str(SEGMENT_SECONDS),
                "--recording-mode",
                camera.recording_mode,
            ],
            env=env,
        )
        stack.callback(processes.terminate, worker, 10)
    return [camera.code for camera in cameras]


def start_analytics(
    stack: ExitStack, settings: Settings, platform: Platform, bus_url: str
) -> CameraGroups:
    """Analytics groups for every camera whose analytics is enabled, following later
    changes on the bus; stopped with the stack."""
    with platform.sessions() as session:
        enabled = platform.analytics_config.worker_configs(session)
    folder = settings.data_dir / "analytics"
    folder.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "safecity.analytics",
        "--media-root",
        str(settings.media_dir),
        "--bus-url",
        bus_url,
    ]
    if settings.analytics_models_dir is not None:
        argv += ["--models-dir", str(settings.analytics_models_dir)]
    groups = CameraGroups(
        GroupCommand(argv=argv, env=dict(os.environ), log_dir=folder),
        registry_stream_url(platform),
        per_process=settings.analytics_cameras_per_process,
    )
    groups.start()
    stack.callback(groups.stop)
    for message in enabled:
        groups.apply(message)
    # Not waited for: the cameras placed above already run, and the start is not held up by
    # the subscription (a failure is logged; only later changes would be missed).
    groups.follow(bus_url, timeout=None)
    return groups


def registry_stream_url(platform: Platform) -> Callable[[str], str | None]:
    """A camera's main stream URL with its credentials, decrypted from the registry, for the
    analytics supervisor in this process (it hands it to a worker over a private pipe)."""

    def resolve(code: str) -> str | None:
        with platform.sessions() as session:
            stored = session.scalars(
                select(Camera.main_stream_enc).where(Camera.code == code)
            ).first()
        return None if stored is None else platform.registry.cipher.decrypt(stored)

    return resolve
