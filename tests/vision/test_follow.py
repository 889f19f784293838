"""Following a box by template matching: it moves with its object, keeps its size while the
object keeps its own, grows and shrinks with an object that approaches or recedes, gives up
when the object changed or left, and refuses bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from safecity.vision.follow import BoxFollower, FollowSettings

Box = tuple[float, float, float, float]


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


def _growing_scene(box: Box) -> np.ndarray:
    """A grey street with one blotchy object (a picture with detail at several sizes, as
    a vehicle's) drawn to fill ``box``, cut where the box leaves the picture."""
    image = np.full((720, 1280, 3), 100, np.uint8)
    image += np.random.default_rng(0).integers(0, 6, image.shape, dtype=np.uint8)
    cells = np.random.default_rng(3).integers(0, 256, (12, 20, 3), dtype=np.uint8)
    picture = cv2.resize(cells, (640, 384), interpolation=cv2.INTER_CUBIC)
    x1, y1, x2, y2 = (round(value) for value in box)
    drawn = cv2.resize(picture, (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)
    bottom, right = min(720, y2), min(1280, x2)
    image[max(0, y1) : bottom, max(0, x1) : right] = drawn[
        max(0, -y1) : bottom - y1, max(0, -x1) : right - x1
    ]
    return image


def _follow_growing(
    follower: BoxFollower, rate: float, frames: int, *, centre_y: float = 300, step: float = 8
) -> tuple[Box, Box]:
    """Follow an object whose size changes by ``rate`` a frame while it drifts ``step``
    pixels down the picture (as an approaching vehicle does), re-taking the template from
    the followed box each frame as the detector's cadence does; the last followed box and
    the truth (cut by the picture's edges, as the follower's boxes are)."""

    def truth(k: int) -> Box:
        half_width, half_height = 80 * rate**k, 48 * rate**k
        y = centre_y + step * k
        return (640 - half_width, y - half_height, 640 + half_width, y + half_height)

    box = truth(0)
    frame = follower.prepare(_growing_scene(box))
    velocity = (0.0, 0.0)
    for k in range(1, frames + 1):
        template = follower.template(frame, box)
        assert template is not None
        frame = follower.prepare(_growing_scene(truth(k)))
        found = follower.follow(frame, template, box, velocity)
        assert found is not None
        assert found.score > FollowSettings().min_score
        x1, y1, x2, y2 = found.xyxy
        velocity = ((x1 + x2 - box[0] - box[2]) / 2, (y1 + y2 - box[1] - box[3]) / 2)
        box = found.xyxy
    x1, y1, x2, y2 = truth(frames)
    return box, (max(0.0, x1), max(0.0, y1), min(1280.0, x2), min(720.0, y2))


@pytest.mark.parametrize("rate", [1.03, 1.05, 0.97])
def test_a_box_grows_and_shrinks_with_its_object(rate: float) -> None:
    box, truth = _follow_growing(BoxFollower(), rate, 10)
    true_width, true_height = truth[2] - truth[0], truth[3] - truth[1]
    assert box[2] - box[0] == pytest.approx(true_width, rel=0.06)
    assert box[3] - box[1] == pytest.approx(true_height, rel=0.06)
    # The bottom edge (where a vehicle's plate is) stays on the object's.
    assert box[3] == pytest.approx(truth[3], abs=0.05 * true_height)


def test_a_box_keeps_growing_with_an_object_leaving_under_the_picture() -> None:
    # From the 4th frame on the object's lower part is below the picture: what is left of
    # it is matched, resized, and the box still grows with it (5 frames: the detector's
    # refresh comes at least this often).
    box, truth = _follow_growing(BoxFollower(), 1.04, 5, centre_y=620, step=12)
    assert truth[3] == 720
    assert box[2] - box[0] == pytest.approx(truth[2] - truth[0], rel=0.06)
    assert box[1] == pytest.approx(truth[1], abs=0.06 * (truth[3] - truth[1]))
    assert box[3] == 720


def test_a_box_of_its_own_size_only_lags_a_growing_object() -> None:
    """Why the follower looks at other sizes: the box of its own size falls behind."""
    box, truth = _follow_growing(BoxFollower(FollowSettings(scales=())), 1.03, 10)
    assert box[2] - box[0] < 0.8 * (truth[2] - truth[0])
    assert box[3] < truth[3] - 10


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
    with pytest.raises(ValueError, match="scales"):
        FollowSettings(scales=(0.0, 1.05))
