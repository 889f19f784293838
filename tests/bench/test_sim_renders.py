"""The plate benchmarks' renders: a temporary folder, each camera's vehicles, the frames asked."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from sim_renders import (
    Render,
    camera_visits,
    decode_frames,
    rendered,
    video_frames,
    whole_plate_samples,
)


@pytest.fixture(scope="module")
def render() -> Iterator[Render]:
    with rendered(8503, 1.0, "anpr", cameras=1) as made:
        yield made
    assert not made.folder.exists(), "the render's folder outlives its block"


def test_the_render_has_a_video_a_camera_at_ten_fps(render: Render) -> None:
    (camera,) = render.truth.cameras
    frames = list(video_frames(render.video(camera)))
    assert [index for index, _ in frames] == list(range(10))
    assert all(frame.shape == (720, 1280, 3) for _, frame in frames)


def test_the_frames_asked_are_decoded_and_no_others(render: Render) -> None:
    video = render.video(render.truth.cameras[0])
    every = dict(video_frames(video))
    frames = decode_frames(video, {0, 4, 9, 50})
    assert sorted(frames) == [0, 4, 9]
    assert all(np.array_equal(frames[index], every[index]) for index in frames)
    assert decode_frames(video, set()) == {}


def test_a_cameras_visits_and_whole_plates_follow_the_ground_truth(render: Render) -> None:
    camera = render.truth.cameras[0].id
    visits = camera_visits(render.truth, camera)
    expected = [
        (vehicle.id, appearance.first_frame)
        for vehicle in render.truth.vehicles
        for appearance in vehicle.appearances
        if appearance.camera_id == camera
    ]
    assert [(v.id, a.first_frame) for v, a in visits] == expected
    assert visits, "seed 8503 sends vehicles past its first camera within a second"
    samples = whole_plate_samples(render.truth, camera)
    assert all(s.plate_box is not None and not s.plate_occluded for _, _, s in samples)
    every = [s for _, a in visits for s in a.samples]
    whole = [s for s in every if s.plate_box is not None and not s.plate_occluded]
    assert 0 < len(whole) < len(every), "seed 8503 has both whole and overlapped plates"
    assert [s.frame for _, _, s in samples] == [s.frame for s in whole]
