"""The worker's image check: a scene that goes black is reported as such, and clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import av
import numpy as np

from safecity.ingest.frames import Frame
from safecity.ingest.image_checks import image_health_check

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _scene(seed: int, *, black: bool = False) -> np.ndarray:
    if black:
        return np.zeros((360, 640, 3), dtype=np.uint8)
    rng = np.random.default_rng(0)  # one street, so the reference holds
    street = rng.integers(40, 220, size=(36, 64, 3), dtype=np.uint8)
    image = np.kron(street, np.ones((10, 10, 1), dtype=np.uint8))
    moving = np.random.default_rng(seed)
    x = int(moving.integers(0, 560))
    image[250:300, x : x + 80] = (30, 30, 200)  # a passing car, so it is not frozen
    noise = moving.integers(0, 6, size=image.shape, dtype=np.uint8)
    return np.ascontiguousarray(np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8))


def _frame(i: int, *, black: bool = False) -> Frame:
    image = av.VideoFrame.from_ndarray(_scene(i, black=black), format="bgr24")
    return Frame(
        camera_id="CAM-1",
        image=image,
        sequence=i,
        pts_seconds=float(i),
        received_at=T0 + timedelta(seconds=i),
        key_frame=True,
    )


def test_black_picture_is_reported_then_cleared() -> None:
    check = image_health_check("CAM-1")
    codes: list[set[str]] = []
    for i in range(120):
        black = 70 <= i < 100
        codes.append({p.code for p in check(_frame(i, black=black))})
    assert codes[60] == set(), "a healthy street raises nothing"
    assert "black" in codes[99], "thirty seconds of black are reported"
    assert codes[119] == set(), "and clear once the picture is back"


def test_samples_closer_than_a_second_are_not_assessed_twice() -> None:
    check = image_health_check("CAM-1", min_interval_seconds=5)
    first = list(check(_frame(0)))
    assert list(check(_frame(1, black=True))) == first  # within the interval: last answer
