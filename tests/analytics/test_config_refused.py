"""A worker that refuses its configuration (exit status 2: a plate-rules file deleted or
broken after the start) is not restarted every few seconds for ever: the supervisor logs
why, keeps the reason for whoever asks after the group, and tries again only after a long
wait, so a repaired file brings the group back."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from safecity.analytics.groups import CameraGroups, GroupCommand
from safecity.contracts.analytics_config import AnalyticsConfigChanged, CameraAnalyticsConfig
from safecity.core.settings import Settings
from safecity.ingest.supervisor import CONFIG_REFUSED, WorkerLaunch, WorkerSupervisor
from safecity.video_workers import analytics_worker_argv

# Refuses (status 2) while ``marker`` is absent, saying why; runs once it is there.
_REFUSING = """
import pathlib, sys, time
if not pathlib.Path(sys.argv[1]).exists():
    print("starting", file=sys.stderr)
    print("ERROR plate format rules: rules.yaml: cannot read (rtsp://admin:pa ss@cam/x)",
          file=sys.stderr)
    raise SystemExit(2)
time.sleep(60)
"""


def _until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _supervisor(tmp_path: Path, marker: Path, config_retry: float) -> WorkerSupervisor:
    launch = WorkerLaunch(
        "refusing",
        [sys.executable, "-c", _REFUSING, str(marker)],
        dict(os.environ),
        log_path=tmp_path / "refusing.log",
    )
    return WorkerSupervisor(
        [launch],
        first_backoff=0.05,
        max_backoff=0.1,
        poll_seconds=0.02,
        config_retry=config_retry,
    )


def test_a_refused_configuration_is_logged_with_its_reason_and_not_retried_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="safecity.ingest.supervisor")
    (tmp_path / "refusing.log").write_text("an earlier run's line\n")
    supervisor = _supervisor(tmp_path, tmp_path / "absent", config_retry=300)
    supervisor.start()
    try:
        _until(lambda: supervisor.exit_codes("refusing") == [CONFIG_REFUSED])
        time.sleep(1.0)  # many polls and crash backoffs: time to restart it, if it would
        assert supervisor.restarts("refusing") == 0
        assert supervisor.exit_codes("refusing") == [CONFIG_REFUSED]
        assert supervisor.pid("refusing") is None
        reason = supervisor.refusal("refusing")
    finally:
        supervisor.stop(timeout=2)
    assert reason is not None
    assert "plate format rules: rules.yaml: cannot read" in reason
    assert reason.startswith("starting | ")  # this run's lines only
    assert "pa ss" not in reason  # credentials scrubbed
    assert str(tmp_path / "refusing.log") in reason
    (record,) = [r for r in caplog.records if "refused its configuration" in r.getMessage()]
    assert "plate format rules: rules.yaml: cannot read" in record.getMessage()
    assert "trying again in 300 s" in record.getMessage()


def test_a_refusing_worker_is_tried_again_later_and_comes_back_once_repaired(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "repaired"
    supervisor = _supervisor(tmp_path, marker, config_retry=0.5)
    supervisor.start()
    try:
        _until(lambda: supervisor.restarts("refusing") >= 1)
        assert set(supervisor.exit_codes("refusing")) == {CONFIG_REFUSED}
        marker.touch()  # the operator repairs the file
        _until(
            lambda: (
                supervisor.pid("refusing") is not None
                and len(supervisor.exit_codes("refusing")) == supervisor.restarts("refusing")
            )
        )
        assert supervisor.refusal("refusing") is None
    finally:
        supervisor.stop(timeout=2)


def test_a_real_analytics_group_refusing_its_plate_rules_file_says_why(tmp_path: Path) -> None:
    """The rules file is gone after the start: the group's process (a real worker) exits 2,
    and its group reports the worker's own reason instead of restarting it every 30 s."""
    settings = Settings(data_dir=tmp_path, analytics_plate_rules_file=tmp_path / "gone.yaml")
    groups = CameraGroups(
        GroupCommand(
            argv=analytics_worker_argv(settings, "nats://127.0.0.1:9"),
            env=dict(os.environ),
            log_dir=tmp_path / "logs",
        ),
        lambda camera: f"rtsp://viewer:pw@127.0.0.1:9/{camera}",
        first_backoff=0.05,
        max_backoff=0.1,
    )
    groups.start()
    try:
        groups.apply(
            AnalyticsConfigChanged(
                camera_id="cam-a",
                version=1,
                config=CameraAnalyticsConfig.model_validate({"enabled": True}),
            )
        )
        group = groups.group_of("cam-a")
        assert group is not None
        _until(lambda: groups.exit_codes(group) == [CONFIG_REFUSED], timeout=120)
        time.sleep(1.5)  # several polls of the supervisor: time to restart it, if it would
        assert groups.restarts(group) == 0
        assert groups.groups() == {group: ["cam-a"]}  # still placed, tried again later
        reason = groups.refusal(group)
    finally:
        groups.stop(timeout=5)
    assert reason is not None
    assert "plate format rules: " in reason
    assert "gone.yaml: cannot read" in reason


def test_refusals_list_the_refusing_worker_since_its_first_refusal(tmp_path: Path) -> None:
    """Retries that refuse again keep the time the refusals began; a repaired worker leaves
    the list."""
    marker = tmp_path / "repaired"
    supervisor = _supervisor(tmp_path, marker, config_retry=0.3)
    supervisor.start()
    try:
        _until(lambda: "refusing" in supervisor.refusals())
        first = supervisor.refusals()["refusing"]
        assert "plate format rules: rules.yaml: cannot read" in first.reason
        assert "pa ss" not in first.reason
        _until(lambda: supervisor.restarts("refusing") >= 2 and "refusing" in supervisor.refusals())
        assert supervisor.refusals()["refusing"].since == first.since
        marker.touch()
        _until(lambda: supervisor.pid("refusing") is not None)
        assert supervisor.refusals() == {}
    finally:
        supervisor.stop(timeout=2)
