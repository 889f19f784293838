"""A running camera follows a new configuration: a new analysed rate reaches its reader
(and tracker) at once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from safecity.analytics.pipeline import PipelineCamera
from safecity.analytics.worker import CameraWorker, StreamOptions
from safecity.contracts.analytics_config import AnalyticsConfigChanged, CameraAnalyticsConfig
from safecity.contracts.base import Message
from safecity.sim.truth import GroundTruth
from safecity.vision.tracking import ObjectTracker
from tests.analytics.support import CAMERA

PLAIN = {"enabled": True, "analysed_fps": 5, "plates": False}


def _changed(version: int, config: dict[str, Any]) -> AnalyticsConfigChanged:
    return AnalyticsConfigChanged(
        camera_id=CAMERA, version=version, config=CameraAnalyticsConfig.model_validate(config)
    )


def _analysed_in(worker: CameraWorker, seconds: float) -> int:
    before = worker.stats().frames_analysed
    time.sleep(seconds)
    return worker.stats().frames_analysed - before


def test_a_new_analysed_rate_reaches_the_running_reader(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, _ = sim_clip
    published: list[Message] = []
    worker = CameraWorker(
        _changed(1, PLAIN),
        tmp_path,
        StreamOptions(str(clip)),  # paced at the clip's 10 fps, in a loop: a live camera
        published.append,
        lambda name: (None, None),
        lambda: (None, None),
    )
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while worker.stats().frames_analysed < 5:
            assert time.monotonic() < deadline, "no frame analysed"
            time.sleep(0.1)
        at_five = _analysed_in(worker, 3.0)
        assert at_five >= 10, at_five  # 15 expected

        worker.configure(_changed(2, {**PLAIN, "analysed_fps": 1}))
        deadline = time.monotonic() + 10
        while worker.stats().config_version != 2:
            assert time.monotonic() < deadline, "the new configuration was not applied"
            time.sleep(0.1)
        assert worker.reader.target_fps == 1
        time.sleep(1.5)  # frames thinned at 5 fps may still wait in the queue
        at_one = _analysed_in(worker, 4.0)
        assert 2 <= at_one <= 6, at_one  # 4 expected; it was 20 before the fix
    finally:
        worker.stop()


def test_a_tracker_given_a_new_rate_keeps_lost_tracks_as_one_built_for_that_rate() -> None:
    for fps in (2.0, 5.0, 15.0, 30.0):
        tracker = ObjectTracker(frame_rate=5.0)
        tracker.set_frame_rate(fps)
        assert tracker.lost_frames == ObjectTracker(frame_rate=fps).lost_frames, fps


def _camera(tmp_path: Path, config: dict[str, Any], version: int = 1) -> PipelineCamera:
    return PipelineCamera(CAMERA, tmp_path, CameraAnalyticsConfig.model_validate(config), version)
