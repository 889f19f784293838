"""Synthetic camera pictures for the image health tests, drawn with numpy and OpenCV.

A street "world" larger than any view is drawn once per seed; a camera view is a
window onto it, so a camera that is pushed or turned sees the same world from
elsewhere, with no invented borders. Everything is deterministic from its seed.
"""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

VIEW_SIZE = (1280, 720)  # width, height of a camera view
WORLD_SIZE = (1600, 960)
ROAD_TOP = 0.55  # fraction of the world's height where the road begins


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    blue, green, red = rng.integers(low, high, size=3)
    return int(blue), int(green), int(red)


def street_world(seed: int) -> Image:
    """Sky, a row of buildings with windows and signs, poles, and a road with lane marks."""
    rng = np.random.default_rng(seed)
    width, height = WORLD_SIZE
    road_top = int(height * ROAD_TOP)
    world = np.zeros((height, width, 3), dtype=np.uint8)
    sky = np.linspace(200, 150, road_top, dtype=np.float64)
    world[:road_top] = np.stack([sky + 30, sky + 10, sky - 10], axis=1)[:, None, :].astype(np.uint8)
    x = 0
    while x < width:
        building_width = int(rng.integers(110, 260))
        top = int(rng.integers(40, road_top - 150))
        cv2.rectangle(world, (x, top), (x + building_width, road_top), _colour(rng, 60, 200), -1)
        for window_y in range(top + 15, road_top - 40, 38):
            for window_x in range(x + 12, x + building_width - 24, 30):
                lit = _colour(rng, 150, 255) if rng.random() < 0.4 else _colour(rng, 10, 70)
                cv2.rectangle(world, (window_x, window_y), (window_x + 16, window_y + 22), lit, -1)
        sign_top = road_top - 34
        cv2.rectangle(
            world, (x + 8, sign_top), (x + building_width - 8, sign_top + 26), (20, 20, 20), -1
        )
        text = "".join(chr(int(c)) for c in rng.integers(65, 91, size=6))
        cv2.putText(
            world,
            text,
            (x + 14, sign_top + 20),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.7,
            _colour(rng, 120, 256),
            2,
        )
        x += building_width + int(rng.integers(4, 20))
    world[road_top:] = (70, 72, 75)
    for lane_y in (int(height * 0.7), int(height * 0.85)):
        for dash_x in range(0, width, 90):
            cv2.rectangle(world, (dash_x, lane_y), (dash_x + 50, lane_y + 6), (230, 230, 230), -1)
    cv2.rectangle(world, (0, height - 40), (width, height - 32), (255, 255, 255), -1)  # stop line
    for pole_x in range(60, width, 240):
        cv2.rectangle(
            world, (pole_x, road_top - 260), (pole_x + 8, road_top + 30), (40, 40, 45), -1
        )
        cv2.circle(world, (pole_x + 4, road_top - 262), 10, (210, 230, 240), -1)
    # Fine grain on the asphalt, as a real road has.
    grain = rng.normal(0, 6, (height - road_top, width, 1))
    world[road_top:] = np.clip(world[road_top:] + grain, 0, 255).astype(np.uint8)
    return world


def camera_view(world: Image, *, dx: int = 0, dy: int = 0, angle: float = 0.0) -> Image:
    """The picture of a camera aimed at the middle of the world, shifted by (dx, dy)
    pixels and turned by ``angle`` degrees about its own centre."""
    width, height = VIEW_SIZE
    world_height, world_width = world.shape[:2]
    centre_x = world_width / 2 + dx
    centre_y = world_height / 2 + dy
    transform = cv2.getRotationMatrix2D((centre_x, centre_y), angle, 1.0)
    # Move the rotated centre to the centre of the output view.
    transform[0, 2] += width / 2 - centre_x
    transform[1, 2] += height / 2 - centre_y
    return cast(Image, cv2.warpAffine(world, transform, (width, height), flags=cv2.INTER_LINEAR))


def with_traffic(view: Image, *, at_s: float, vehicles: int = 8, seed: int = 7) -> Image:
    """The view with boxy vehicles (body, windows, wheels, plate) driving through the lanes
    at their own speeds; their positions depend only on ``at_s``."""
    rng = np.random.default_rng(seed)
    frame = view.copy()
    height, width = frame.shape[:2]
    lanes = (int(height * 0.66), int(height * 0.78), int(height * 0.9))
    for _ in range(vehicles):
        lane = lanes[int(rng.integers(0, len(lanes)))]
        length = int(rng.integers(180, 420))
        tall = int(rng.integers(90, 190))
        speed = float(rng.uniform(60, 240)) * (1 if rng.random() < 0.5 else -1)
        start = float(rng.uniform(0, width + length))
        left = int((start + speed * at_s) % (width + length)) - length
        body = _colour(rng, 30, 255)
        top = lane - tall
        cv2.rectangle(frame, (left, top), (left + length, lane), body, -1)
        for window_x in range(left + 15, left + length - 40, 55):
            cv2.rectangle(
                frame, (window_x, top + 12), (window_x + 40, top + tall // 2), (40, 30, 30), -1
            )
        for wheel_x in (left + 40, left + length - 40):
            cv2.circle(frame, (wheel_x, lane), 22, (15, 15, 15), -1)
        cv2.rectangle(
            frame,
            (left + length // 2 - 30, lane - 30),
            (left + length // 2 + 30, lane - 12),
            (250, 250, 250),
            -1,
        )
    return frame


def sensor_noise(frame: Image, sigma: float, seed: int) -> Image:
    rng = np.random.default_rng(seed)
    noisy = frame.astype(np.float32) + rng.normal(0.0, sigma, frame.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def jpeg_roundtrip(frame: Image, quality: int) -> Image:
    """The frame as a camera's encoder would deliver it: compressed and decoded again."""
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cast(Image, cv2.imdecode(data, cv2.IMREAD_COLOR))


def live_static_sample(view: Image, index: int) -> Image:
    """A quiet camera watching an empty street: fresh sensor noise, then JPEG."""
    return jpeg_roundtrip(sensor_noise(view, 1.0, seed=1000 + index), quality=70)


def resized(frame: Image, width: int, height: int) -> Image:
    """The same picture at another stream resolution."""
    return cast(Image, cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))


def blurred(frame: Image, sigma: float) -> Image:
    return cast(Image, cv2.GaussianBlur(frame, (0, 0), sigma))


def darkened(frame: Image, *, gain: float, gamma: float = 1.0) -> Image:
    """Less light on the same scene: a gamma curve, then a gain."""
    scaled: npt.NDArray[np.float32] = (
        255.0 * np.power(frame.astype(np.float32) / 255.0, gamma) * gain
    ).astype(np.float32)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def night(view: Image, seed: int) -> Image:
    """The street after dark: a dim, noisy scene with a few lamps and their glow."""
    rng = np.random.default_rng(seed)
    frame = darkened(view, gain=0.3, gamma=1.8).astype(np.float32)
    height, width = frame.shape[:2]
    glow = np.zeros((height, width), dtype=np.float32)
    for _ in range(5):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height // 2)))
        cv2.circle(glow, centre, 14, 255.0, -1)
    glow = cv2.GaussianBlur(glow, (0, 0), 18) * 4.0
    frame += np.clip(glow, 0, 255)[:, :, None] * np.array([0.6, 0.85, 1.0], dtype=np.float32)
    return sensor_noise(np.clip(frame, 0, 255).astype(np.uint8), 3.0, seed)


def black_frame(seed: int) -> Image:
    """A capped lens: near-zero levels and a little dark noise."""
    width, height = VIEW_SIZE
    return sensor_noise(np.full((height, width, 3), 6, dtype=np.uint8), 2.0, seed)


def white_frame(seed: int) -> Image:
    width, height = VIEW_SIZE
    return sensor_noise(np.full((height, width, 3), 248, dtype=np.uint8), 2.0, seed)


def washed_out(view: Image) -> Image:
    """Sun glare or a failed iris: the picture squeezed into the top of the range."""
    lifted: npt.NDArray[np.float32] = view.astype(np.float32) * 0.2 + 205.0
    return np.clip(lifted, 0, 255).astype(np.uint8)


def hand_over_lens(seed: int, *, level: float = 70.0, light_leak: bool = False) -> Image:
    """A palm on the lens: a smooth, dim, skin-toned blob, far out of focus, with sensor
    noise; optionally a band of light leaking past the fingers at one edge."""
    width, height = VIEW_SIZE
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = np.hypot((columns - width * 0.4) / width, (rows - height * 0.6) / height)
    shade = np.clip(level - level * 1.6 * distance, 4.0, 255.0)
    if light_leak:
        shade[:, :200] += np.linspace(160.0, 0.0, 200, dtype=np.float32)[None, :]
        shade = cv2.GaussianBlur(shade, (0, 0), 30)
    skin = np.stack([shade * 0.6, shade * 0.8, shade], axis=2)
    return sensor_noise(np.clip(skin, 0, 255).astype(np.uint8), 4.0, seed)
