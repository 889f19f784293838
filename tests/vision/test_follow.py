"""Following a box by template matching: it moves with its object, keeps its size, gives up
when the object changed or left, and refuses bad input."""

from __future__ import annotations

import numpy as np
import pytest

from safecity.vision.follow import BoxFollower, FollowSettings


def _scene(x: int, *, pattern_seed: int = 1, width: int = 1280, height: int = 720) -> np.ndarray:
    """A grey street with a textured 160x90 block (the object) whose left edge is at x."""
    rng = np.random.default_rng(0)
    image = np.full((height, width, 3), 100, np.uint8)
    image += rng.integers(0, 6, image.shape, dtype=np.uint8)
    block = np.random.default_rng(pattern_seed).integers(0, 256, (90, 160, 3), dtype=np.uint8)
    left, right = max(0, x), min(width, x + 160)
    if right > left:
        image[400:490, left:right] = block[:, left - x : right - x]
    return image


@pytest.mark.parametrize("step", [12, 40, -30])
def test_a_moving_block_is_followed_with_its_size_kept(step: int) -> None:
    follower = BoxFollower()
    box = (500.0, 400.0, 660.0, 490.0)
    frame = follower.prepare(_scene(500))
    velocity = (0.0, 0.0)
    for k in range(1, 6):
        template = follower.template(frame, box)
        assert template is not None
        frame = follower.prepare(_scene(500 + step * k))
        found = follower.follow(frame, template, box, velocity)
        assert found is not None
        assert found.score > 0.9
        assert found.xyxy[0] == pytest.approx(500 + step * k, abs=3)
        assert found.xyxy[1] == pytest.approx(400, abs=3)
        assert found.xyxy[2] - found.xyxy[0] == pytest.approx(160, abs=0.01)
        velocity = (found.xyxy[0] - box[0], 0.0)
        box = found.xyxy


def test_an_object_that_changed_scores_low() -> None:
    follower = BoxFollower()
    box = (500.0, 400.0, 660.0, 490.0)
    template = follower.template(follower.prepare(_scene(500)), box)
    assert template is not None
    found = follower.follow(follower.prepare(_scene(510, pattern_seed=2)), template, box, (0, 0))
    assert found is not None
    assert found.score < FollowSettings().min_score


def test_an_object_leaving_the_picture_is_followed_by_what_remains_then_given_up() -> None:
    follower = BoxFollower()
    box = (1080.0, 400.0, 1240.0, 490.0)
    frame = follower.prepare(_scene(1080))
    lost = False
    for x in range(1120, 1300, 40):
        template = follower.template(frame, box)
        if template is None:
            lost = True
            break
        frame = follower.prepare(_scene(x))
        found = follower.follow(frame, template, box, (40.0, 0.0))
        if found is None:
            lost = True
            break
        assert found.score > 0.9
        assert found.xyxy[0] == pytest.approx(x, abs=3)
        assert found.xyxy[2] == 1280  # cut at the picture's edge
        box = found.xyxy
    assert lost  # nothing left to match once the block is (nearly) gone


def test_a_flat_or_tiny_box_is_not_followed() -> None:
    follower = BoxFollower()
    flat = np.full((720, 1280, 3), 100, np.uint8)
    frame = follower.prepare(flat)
    assert follower.template(frame, (10.0, 10.0, 14.0, 14.0)) is None  # 2 px at work scale
    assert follower.template(frame, (100.0, 100.0, 200.0, 200.0)) is None  # nothing to match


def test_frames_are_halved_to_the_work_width() -> None:
    follower = BoxFollower()
    assert follower.prepare(_scene(0)).grey.shape == (360, 640)
    assert follower.prepare(np.zeros((360, 640, 3), np.uint8)).grey.shape == (360, 640)
    assert follower.prepare(np.zeros((180, 320, 3), np.uint8)).grey.shape == (180, 320)
    assert follower.prepare(_scene(0, width=1920, height=1080)).grey.shape == (270, 480)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="BGR image"):
        BoxFollower().prepare(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="work_width"):
        FollowSettings(work_width=8)
    with pytest.raises(ValueError, match="min_score"):
        FollowSettings(min_score=0)
    with pytest.raises(ValueError, match="search_margin"):
        FollowSettings(search_margin=0)
