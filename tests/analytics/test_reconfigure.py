"""A running camera follows a new configuration without losing what it has: a new analysed
rate reaches its reader (and tracker) at once, and rules whose own definition did not
change keep their state (a line's count goes on) while changed ones start afresh."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from safecity.analytics.pipeline import PipelineCamera, build_pipeline, track_id_offset
from safecity.analytics.worker import CameraWorker, StreamOptions
from safecity.contracts.analytics import RuleEvent
from safecity.contracts.analytics_config import AnalyticsConfigChanged, CameraAnalyticsConfig
from safecity.contracts.base import Message
from safecity.sim.truth import GroundTruth
from safecity.vision.tracking import ObjectTracker
from tests.analytics.support import CAMERA
from tests.analytics.test_pipeline import CONFIG, run_clip

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


def test_rules_that_did_not_change_keep_counting_across_a_new_configuration(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, _ = sim_clip
    published: list[Message] = []
    pipeline = build_pipeline(_camera(tmp_path, CONFIG), None, None, published.append)
    versions: list[int] = []

    def crossings() -> list[RuleEvent]:
        return [m for m in published if isinstance(m, RuleEvent) and m.kind == "line_crossing"]

    def edit_after_the_first_crossing() -> None:
        if versions or not crossings():
            return
        # An unrelated rule is added; the counting rule and its line stay as they were.
        added = {
            **CONFIG,
            "rules": [*CONFIG["rules"], {"kind": "crowd", "name": "busy", "threshold": 50}],
        }
        assert pipeline.reconfigure(CameraAnalyticsConfig.model_validate(added), 2)
        versions.append(len(crossings()))

    run_clip(clip, pipeline, after_frame=edit_after_the_first_crossing)
    assert versions, "no crossing before the edit"
    events = crossings()
    assert len(events) > versions[0], "no crossing after the edit"
    for direction in ("in", "out"):
        values = [e.value for e in events if e.direction == direction]
        assert values == [float(n) for n in range(1, len(values) + 1)], (direction, values)


def test_a_rule_whose_line_moved_starts_counting_afresh(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, _ = sim_clip
    published: list[Message] = []
    pipeline = build_pipeline(_camera(tmp_path, CONFIG), None, None, published.append)
    edited: list[int] = []

    def crossings() -> list[RuleEvent]:
        return [m for m in published if isinstance(m, RuleEvent) and m.kind == "line_crossing"]

    def move_the_line_after_the_first_crossing() -> None:
        if edited or not crossings():
            return
        moved = {
            **CONFIG,
            "lines": [
                {"name": "stop", "start": [0, 0.61], "end": [1, 0.61]},
                *CONFIG["lines"][1:],
            ],
        }
        assert pipeline.reconfigure(CameraAnalyticsConfig.model_validate(moved), 2)
        edited.append(len(crossings()))

    run_clip(clip, pipeline, after_frame=move_the_line_after_the_first_crossing)
    assert edited
    after = crossings()[edited[0] :]
    assert after, "no crossing after the edit"
    first = {
        direction: [e.value for e in after if e.direction == direction]
        for direction in ("in", "out")
    }
    assert all(values[0] == 1.0 for values in first.values() if values), first


def test_track_ids_of_a_restarted_worker_do_not_repeat_those_of_the_run_before(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, _ = sim_clip
    runs: list[set[int]] = []
    for started in (1_796_000_000.0, 1_796_000_001.0):  # a worker restarted a second later
        published: list[Message] = []
        pipeline = build_pipeline(
            _camera(tmp_path, CONFIG),
            None,
            None,
            published.append,
            track_id_offset=track_id_offset(started),
        )
        run_clip(clip, pipeline)
        runs.append(
            {m.track_id for m in published if isinstance(m, RuleEvent) and m.track_id is not None}
        )
    first, second = runs
    assert first
    assert second
    assert not first & second
    assert max(first | second) < 2**31  # the events' 32-bit column
    assert track_id_offset(0.0) == 0


def test_a_new_rate_rebuilds_the_rules_sized_for_it_and_keeps_the_others() -> None:
    """A wrong-way window holds frames: kept at a new rate, one sized for 5 fps would not
    fill at 0.5 fps and the rule would never fire. A line count is not sized by rate."""
    from safecity.analytics.pipeline import _rule_definitions

    before = CameraAnalyticsConfig.model_validate(CONFIG)
    after = CameraAnalyticsConfig.model_validate({**CONFIG, "analysed_fps": 0.5})
    kinds = [rule.kind for rule in before.rules]
    changed = {
        kind
        for kind, old, new in zip(
            kinds, _rule_definitions(before), _rule_definitions(after), strict=True
        )
        if old != new
    }
    assert changed == {"wrong_way"}
