"""The still part of a camera's view: road, markings, kerbs, median, buildings, lamps.

Drawn once per camera and lighting condition; every frame starts from a copy.
The scenery around each camera comes from the camera's own seed.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from safecity.sim.geometry import CameraRig
from safecity.sim.plates import Colour
from safecity.sim.raster import Image, add_glow, as_image, fill, tone
from safecity.sim.scene import LANE_COUNT, LANE_WIDTH_M, ROAD_WIDTH_M, ZEBRA_M, CameraSite
from safecity.sim.truth import Lighting

ASPHALT: Colour = (92, 94, 96)
VERGE: Colour = (120, 160, 178)
FOOTPATH: Colour = (150, 156, 160)
PAINT: Colour = (225, 228, 228)
KERB_YELLOW: Colour = (30, 200, 235)
KERB_BLACK: Colour = (35, 35, 35)
_FACADES: tuple[Colour, ...] = (
    (170, 200, 215),
    (90, 110, 160),
    (210, 215, 220),
    (150, 170, 140),
    (120, 150, 200),
    (185, 185, 175),
)
_SIGN_WORDS = ("HOTEL", "PHARMACY", "TIKKA", "MOBILE", "BANK", "NAAN", "TAILOR", "CHAI", "AUTOS")


def _quad(x0: float, x1: float, y0: float, y1: float, z: float = 0.0) -> NDArray[np.float64]:
    """A horizontal rectangle."""
    return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]])


def _wall(x0: float, x1: float, y: float, z0: float, z1: float) -> NDArray[np.float64]:
    """A vertical rectangle along the corridor at lateral ``y``."""
    return np.array([[x0, y, z0], [x1, y, z0], [x1, y, z1], [x0, y, z1]])


def _front(x: float, y0: float, y1: float, z0: float, z1: float) -> NDArray[np.float64]:
    """A vertical rectangle facing the camera at corridor position ``x``."""
    return np.array([[x, y0, z1], [x, y1, z1], [x, y1, z0], [x, y0, z0]])


def _shade(colour: Colour, factor: float) -> Colour:
    return (int(colour[0] * factor), int(colour[1] * factor), int(colour[2] * factor))


class _Painter:
    def __init__(self, rig: CameraRig, lighting: Lighting) -> None:
        self.rig = rig
        self.lighting = lighting
        self.image: Image = np.zeros((rig.height, rig.width, 3), np.uint8)
        self.lamps: list[tuple[float, float, float]] = []

    def sign(self, points: NDArray[np.float64], colour: Colour, word: str) -> None:
        """A signboard with ``word`` painted on it, in perspective."""
        pixels = self.rig.project_polygon(points)
        if pixels is None or len(pixels) != 4:
            return
        board = np.empty((40, 40 * max(len(word), 3), 3), np.uint8)
        board[:] = tone(colour, self.lighting)
        ink = tone((30, 30, 30) if sum(colour) > 380 else (240, 240, 240), self.lighting)
        cv2.putText(board, word, (8, 31), cv2.FONT_HERSHEY_DUPLEX, 1.0, ink, 2, cv2.LINE_AA)
        # Wall corners run along the corridor: the word reads from the far end.
        height, width = board.shape[:2]
        source = np.array([[0, height], [width, height], [width, 0], [0, 0]], np.float32)
        matrix = cv2.getPerspectiveTransform(source, pixels.astype(np.float32))
        cv2.warpPerspective(
            board,
            matrix,
            (self.rig.width, self.rig.height),
            dst=self.image,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_TRANSPARENT,
        )

    def poly(self, points: NDArray[np.float64], colour: Colour, lit: bool = False) -> None:
        pixels = self.rig.project_polygon(points)
        if pixels is not None and len(pixels) >= 3:
            fill(self.image, pixels, colour if lit else tone(colour, self.lighting))


def _road(paint: _Painter, near: float, far: float, site: CameraSite) -> None:
    paint.poly(_quad(far - 400, near + 5, -60.0, 60.0), VERGE)
    paint.poly(_quad(far - 400, near + 5, -10.5, -1.8), ASPHALT)
    paint.poly(_quad(far - 400, near + 5, 0.0, ROAD_WIDTH_M), ASPHALT)
    paint.poly(_quad(far - 400, near + 5, ROAD_WIDTH_M, ROAD_WIDTH_M + 3.5, 0.18), FOOTPATH)
    paint.poly(_quad(far - 400, near + 5, -1.8, 0.0, 0.2), (70, 120, 80))
    # Kerb stones painted black and yellow, a metre each, as on Pakistani roads.
    start = np.floor(far - 2)
    for index, x in enumerate(np.arange(start, near + 5, 1.0)):
        colour = KERB_YELLOW if index % 2 else KERB_BLACK
        paint.poly(_wall(x, x + 1.0, 0.0, 0.0, 0.2), colour)
        paint.poly(_wall(x, x + 1.0, ROAD_WIDTH_M, 0.0, 0.18), colour)
    for y in (0.15, ROAD_WIDTH_M - 0.15):
        paint.poly(_quad(far - 400, near + 5, y - 0.08, y + 0.08, 0.005), PAINT)
    stop = site.stop_line_m
    for lane in range(1, LANE_COUNT):
        y = lane * LANE_WIDTH_M
        for x in np.arange(np.floor(far / 9) * 9, near + 5, 9.0):
            if stop is not None and stop - 15 < x < stop + ZEBRA_M[1]:
                continue
            paint.poly(_quad(x, x + 3.0, y - 0.07, y + 0.07, 0.005), PAINT)
    if stop is not None:
        paint.poly(_quad(stop - 0.3, stop, 0.0, ROAD_WIDTH_M, 0.006), PAINT)
        for lane in range(1, LANE_COUNT):
            y = lane * LANE_WIDTH_M
            paint.poly(_quad(stop - 15, stop, y - 0.07, y + 0.07, 0.005), PAINT)
        for y in np.arange(0.3, ROAD_WIDTH_M - 0.3, 1.0):
            paint.poly(_quad(stop + ZEBRA_M[0], stop + ZEBRA_M[1], y, y + 0.5, 0.006), PAINT)


def _buildings(paint: _Painter, near: float, far: float, rng: np.random.Generator) -> None:
    for side, face_y, depth in ((1, ROAD_WIDTH_M + 4.5, 10.0), (-1, -13.0, 10.0)):
        x = far - 30.0
        blocks: list[tuple[float, float, float, Colour]] = []
        while x < near + 10:
            width = float(rng.uniform(6.0, 14.0))
            blocks.append(
                (
                    x,
                    x + width,
                    float(rng.uniform(4.0, 13.0)),
                    _FACADES[int(rng.integers(0, len(_FACADES)))],
                )
            )
            x += width + float(rng.uniform(0.0, 2.0))
        back_y = face_y + side * depth
        for x0, x1, top, colour in blocks:
            low_y, high_y = min(face_y, back_y), max(face_y, back_y)
            paint.poly(_front(x1, low_y, high_y, 0.0, top), _shade(colour, 0.8))
            paint.poly(_wall(x0, x1, face_y, 0.0, top), colour)
            paint.poly(_quad(x0, x1, low_y, high_y, top), _shade(colour, 0.9))
            # A shop sign over the ground floor (lettering a plate reader must ignore),
            # windows above.
            sign = _FACADES[int(rng.integers(0, len(_FACADES)))][::-1]
            word = _SIGN_WORDS[int(rng.integers(0, len(_SIGN_WORDS)))]
            paint.sign(_wall(x0 + 0.5, x1 - 0.5, face_y - side * 0.05, 2.6, 3.3), sign, word)
            window_lit = paint.lighting != "day"
            for floor in np.arange(4.0, top - 1.0, 3.0):
                for wx in np.arange(x0 + 1.0, x1 - 1.5, 2.5):
                    lit = window_lit and rng.random() < 0.55
                    colour_w = (120, 210, 250) if lit else (70, 60, 55)
                    paint.poly(
                        _wall(wx, wx + 1.2, face_y - side * 0.05, floor, floor + 1.4),
                        tone(colour_w, "dusk") if lit else colour_w,
                        lit=lit,
                    )


def _lamps(paint: _Painter, near: float, far: float, offset: float) -> None:
    """Street lamps on the median every 30 m."""
    for x in np.arange(far - 30 + offset, near, 30.0):
        paint.poly(_front(x, -0.95, -0.85, 0.0, 9.0), (90, 90, 95))
        paint.poly(_front(x, -0.9, 1.6, 8.8, 9.0), (90, 90, 95))
        paint.lamps.append((x, 1.5, 8.8))


SIGNAL_LATERAL_M = ROAD_WIDTH_M + 1.0
SIGNAL_LAMPS_M: dict[str, float] = {"red": 3.23, "amber": 2.9, "green": 2.57}
"""Heights of the lamp centres on the kerb-side signal head, top to bottom."""
SIGNAL_LAMP_RADIUS_M = 0.12


def signal_head_x(site: CameraSite) -> float | None:
    """Corridor position of the signal head: a metre before the stop line."""
    return None if site.stop_line_m is None else site.stop_line_m - 1.0


def _signal_housing(paint: _Painter, site: CameraSite) -> None:
    x = signal_head_x(site)
    if x is None:
        return
    y = SIGNAL_LATERAL_M
    paint.poly(_front(x - 0.05, y - 0.06, y + 0.06, 0.0, 2.4), (60, 60, 60))
    paint.poly(_front(x, y - 0.22, y + 0.22, 2.4, 3.4), (25, 25, 25))


def draw_backdrop(site: CameraSite, lighting: Lighting) -> Image:
    """The empty scene seen by ``site`` under ``lighting``."""
    rig = site.rig
    paint = _Painter(rig, lighting)
    paint.image[:] = tone((235, 200, 150), lighting)
    near, far = rig.position_m, rig.position_m - rig.far_ground_m
    rng = np.random.default_rng(site.scenery_seed)
    lamp_offset = float(rng.uniform(0.0, 30.0))
    _road(paint, near, far, site)
    _buildings(paint, near, far, rng)
    _lamps(paint, near, far, lamp_offset)
    _signal_housing(paint, site)
    if lighting != "day":
        strength = 0.3 if lighting == "night" else 0.12
        for x, y, z in paint.lamps:
            for point, radius_m, power in (((x, y, z), 0.35, 0.9), ((x, y, 0.0), 3.5, strength)):
                camera_point = rig.to_camera(np.array([point]))
                if camera_point[0, 2] <= 1.0:
                    continue
                centre = rig.to_pixels(camera_point)[0]
                radius = radius_m * rig.focal_px / camera_point[0, 2]
                add_glow(paint.image, (centre[0], centre[1]), radius, (170, 220, 255), power)
    noise = np.random.default_rng(site.scenery_seed + 1).normal(0.0, 3.0, paint.image.shape[:2])
    grained = paint.image.astype(np.float32) + noise[..., None].astype(np.float32)
    return np.clip(grained, 0, 255).astype(np.uint8)


def blend(first: Image, second: Image, weight: float) -> Image:
    """Cross-fade between two backdrops (``weight`` of the second)."""
    return as_image(cv2.addWeighted(first, 1.0 - weight, second, weight, 0.0))
