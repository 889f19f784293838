"""`safecity up --config deployment.yaml` as an engineer runs it: the deployment's camera gets
a place in an ingest group and, its analytics being enabled, a place in an analytics group that
analyses its stream and reports on the bus; Ctrl-C (SIGINT to the whole process group)
stops everything with status 0, and no ingest or analytics group dies or is restarted on the
way."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from safecity.bus import NatsBus
from safecity.contracts.analytics_config import AnalyticsWorkerStats, CameraAnalyticsConfig
from safecity.contracts.ingest import CameraHealth
from safecity.core.settings import Settings
from safecity.core.yamlfile import load_yaml_model
from safecity.identity.system import system_principal
from safecity.registry.deployment import DeploymentFile, apply_deployment
from safecity.registry.models import Camera
from safecity.sim.truth import GroundTruth
from safecity.web.bootstrap import seed_base, upgrade_database
from safecity.web.platform import build_platform
from tests.analytics.support import Inbox
from tests.conftest import TEST_SECRET
from tests.support.postgres import free_port
from tests.support.processes import descendants, killed_on_failure, start_safecity

pytestmark = pytest.mark.nats

CAMERA = "PSH-T001"


def _deployment(path: Path, clip: Path) -> Path:
    path.write_text(
        "name: up-test\n"
        "sites:\n"
        "  - code: PSH-T01\n"
        "    name: Test junction\n"
        "    district: peshawar\n"
        "    site_type: intersection\n"
        "    latitude: 34.0\n"
        "    longitude: 71.58\n"
        "cameras:\n"
        f"  - code: {CAMERA}\n"
        "    name: Test camera\n"
        "    site: PSH-T01\n"
        f"    main_stream_url: file://{clip}\n"
        "    status: online\n"
        "    recording_mode: 'off'\n"
    )
    return path


def _enable_analytics(settings: Settings, deployment: Path) -> None:
    """What an engineer does in the editor before the restart: analytics on, plates on."""
    platform = build_platform(settings)
    try:
        upgrade_database(platform)
        seed_base(platform)
        admin = system_principal("test")
        with platform.transaction() as session:
            apply_deployment(
                session, platform.registry, admin, load_yaml_model(deployment, DeploymentFile)
            )
        with platform.transaction() as session:
            camera = session.query(Camera).filter(Camera.code == CAMERA).one()
            config = CameraAnalyticsConfig.model_validate(
                {"enabled": True, "analysed_fps": 5, "plates": True}
            )
            platform.analytics_config.update_config(
                session, admin, camera.id, config, expected_version=0
            )
    finally:
        platform.dispose()


async def _reports(bus_url: str) -> Inbox:
    bus = await NatsBus.connect(bus_url, fetch_wait_seconds=0.25)
    inbox = Inbox()
    try:
        await bus.subscribe(AnalyticsWorkerStats, durable="test-up-stats", handler=inbox)
        await bus.subscribe(CameraHealth, durable="test-up-health", handler=inbox)
        await inbox.wait_until(
            lambda: (
                any(
                    s.camera_id == CAMERA and s.frames_analysed > 0
                    for s in inbox.of(AnalyticsWorkerStats)
                )
                and any(h.camera_id == CAMERA for h in inbox.of(CameraHealth))
            ),
            timeout=90,
        )
    finally:
        await bus.close()
    return inbox


def test_up_runs_the_deployments_ingest_and_analytics_and_stops_cleanly_on_ctrl_c(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, _ = sim_clip
    data = tmp_path / "data"
    deployment = _deployment(tmp_path / "deployment.yaml", clip)
    env = {
        **os.environ,
        "SAFECITY_DATA_DIR": str(data),
        "SAFECITY_PORT": str(free_port()),
        "SAFECITY_SECRET_KEY": TEST_SECRET,
        "SAFECITY_MQTT_BROKER": "false",
    }
    env.pop("SAFECITY_NATS_URL", None)
    _enable_analytics(Settings(data_dir=data, secret_key=TEST_SECRET), deployment)
    process = start_safecity(["up", "--config", str(deployment)], env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    children: dict[int, str] = {}
    with killed_on_failure(process):
        deadline = time.monotonic() + 90
        while not any(line.startswith("ingest workers:") for line in lines):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, lines
            time.sleep(0.2)
        assert (
            "ingest workers: 1 cameras in 1 worker processes; "
            "analytics: 1 cameras in 1 worker processes\n"
        ) in lines
        bus_url = next(line.split()[1] for line in lines if line.startswith("bus: "))
        asyncio.run(_reports(bus_url))
        children = descendants(process.pid)
        commands = list(children.values())
        assert any("safecity.ingest" in c and "--group ingest-1" in c for c in commands), commands
        assert any("safecity.analytics" in c and "--group group-1" in c for c in commands)
        # The stream URL is on no command line.
        assert not any(str(clip) in c for c in commands)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr[-3000:]
    assert "restarting" not in stderr, stderr[-3000:]
    group_log = (data / "analytics" / "group-1.log").read_text()
    assert f"camera {CAMERA} joined the group" in group_log
    assert f"camera {CAMERA} left the group" in group_log
    assert "Fatal Python error" not in group_log
    ingest_log = (data / "ingest" / "ingest-1.log").read_text()
    assert f"camera {CAMERA} joined the group" in ingest_log
    assert f"camera {CAMERA} left the group" in ingest_log
    assert "Fatal Python error" not in ingest_log
    time.sleep(0.2)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], "children outlived up"


def test_up_on_a_control_plane_node_starts_no_video_workers(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, _ = sim_clip
    data = tmp_path / "data"
    deployment = _deployment(tmp_path / "deployment.yaml", clip)
    port = free_port()
    env = {
        **os.environ,
        "SAFECITY_DATA_DIR": str(data),
        "SAFECITY_PORT": str(port),
        "SAFECITY_SECRET_KEY": TEST_SECRET,
        "SAFECITY_MQTT_BROKER": "false",
        "SAFECITY_VIDEO_WORKERS": "false",
    }
    env.pop("SAFECITY_NATS_URL", None)
    _enable_analytics(Settings(data_dir=data, secret_key=TEST_SECRET), deployment)
    process = start_safecity(["up", "--config", str(deployment)], env)
    with killed_on_failure(process):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=1),
            ):
                break  # the web server listens: everything up starts has started
            time.sleep(0.3)
        commands = list(descendants(process.pid).values())
        assert any("nats-server" in c for c in commands), commands
        assert not any("safecity.ingest" in c or "safecity.analytics" in c for c in commands)
        os.killpg(process.pid, signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "safecity is serving" in out
    assert "ingest workers" not in out
