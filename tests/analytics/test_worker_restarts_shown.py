"""A worker group's process killed with SIGKILL is restarted, and the admin sees it: the
restart count, the killing signal, when it happened and the group's cameras, in
``/api/v1/workers``, on the health page and as Prometheus metrics."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from safecity.analytics.groups import CameraGroups
from safecity.bus import NatsServer
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.core.clock import utcnow
from safecity.core.settings import Settings
from safecity.identity.system import system_principal
from safecity.video_workers import start_analytics
from safecity.web.platform import Platform
from tests.factories import World, make_user, token_for

pytestmark = pytest.mark.nats


@pytest.fixture
def running(
    settings: Settings, platform: Platform, world: World, nats_server: NatsServer
) -> Iterator[CameraGroups]:
    """PSH-TC1's analytics group, started as ``safecity up`` starts it (a real process)."""
    with platform.transaction() as session:
        platform.analytics_config.update_config(
            session,
            system_principal("tests"),
            world.cameras["PSH-TC1"],
            CameraAnalyticsConfig.model_validate({"enabled": True, "plates": False}),
            expected_version=None,
        )
    with ExitStack() as stack:
        yield start_analytics(stack, settings, platform, nats_server.url)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_killed_worker_shows_its_restart_signal_and_cameras(
    api: TestClient, platform: Platform, running: CameraGroups
) -> None:
    group = running.group_of("PSH-TC1")
    assert group is not None
    _wait(lambda: running.pid(group) is not None, "the group's process did not start")
    first = running.pid(group)
    assert first is not None
    make_user(platform, "eng-all", ["engineer"], all_districts=True)
    headers = {"Authorization": f"Bearer {token_for(platform, 'eng-all')}"}

    before = api.get("/api/v1/workers", headers=headers).json()
    (shown,) = [g for g in before["groups"] if g["name"] == group]
    assert shown["restarts"] == 0
    assert shown["running"] is True
    assert shown["last_exit"] is None

    killed_at = utcnow()
    os.kill(first, signal.SIGKILL)
    _wait(
        lambda: running.restarts(group) == 1 and running.pid(group) not in (None, first),
        "the killed group was not restarted",
    )

    response = api.get("/api/v1/workers", headers=headers)
    assert response.status_code == 200, response.text
    (shown,) = [g for g in response.json()["groups"] if g["name"] == group]
    assert shown["kind"] == "analytics"
    assert shown["running"] is True
    assert shown["restarts"] == 1
    assert shown["last_exit_code"] == -signal.SIGKILL
    assert shown["last_exit"] == "killed by signal 9 (SIGKILL)"
    assert shown["cameras"] == ["PSH-TC1"]
    restarted = datetime.fromisoformat(shown["last_restart_at"])
    ended = datetime.fromisoformat(shown["last_exit_at"])
    assert killed_at - timedelta(seconds=1) <= ended <= restarted <= utcnow()
    assert response.json()["refused"] == []  # killed, not refused
    assert "s3cret" not in response.text

    page = api.get("/health", headers=headers)
    assert page.status_code == 200
    assert 'id="worker-groups"' in page.text
    row = page.text.split(f'data-group="{group}"', 1)[1].split("</tr>", 1)[0]
    assert "restarted 1 time" in row
    assert "killed by signal 9 (SIGKILL)" in row
    assert "PSH-TC1" in row

    metrics = api.get("/metrics").text
    labels = f'{{group="{group}",kind="analytics"}}'
    assert f"safecity_worker_group_restarts_total{labels} 1.0" in metrics
    assert f"safecity_worker_group_last_exit_code{labels} -9.0" in metrics
    assert f"safecity_worker_group_up{labels} 1.0" in metrics
    assert f"safecity_worker_group_cameras{labels} 1.0" in metrics
    assert f"safecity_worker_group_last_restart_timestamp_seconds{labels}" in metrics


def test_worker_groups_are_hidden_from_who_may_not_see_them(
    api: TestClient, platform: Platform, running: CameraGroups
) -> None:
    make_user(platform, "op-all", ["operator"], all_districts=True)
    headers = {"Authorization": f"Bearer {token_for(platform, 'op-all')}"}
    assert api.get("/api/v1/workers", headers=headers).status_code == 403
    page = api.get("/health", headers=headers)
    assert page.status_code == 200
    assert 'id="worker-groups"' not in page.text
