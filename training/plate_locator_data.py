"""Vehicle regions cut from simulator renders, with the plates in them: the locator's data.

Every rendered frame comes with the simulator's own geometry: each vehicle's box and
its plate's corners (``ObjectView.box`` and ``.plate_quad``), so the targets are exact.
For each vehicle of a frame, a region is cut around its box the way a detector or a
template follower would box it (shifted and scaled by up to about a quarter, cut by the
frame's edge), made grey and resized to the locator's input exactly as the runtime does
(:func:`safecity.vision.plates.locator.prepare_region`). Its targets are every plate
wholly inside the region that no nearer object covers; a plate cut by the region's edge,
partly covered or too small to read is marked "ignore" (neither plate nor background).
A vehicle whose plate is hidden, turned away or off the frame gives a region without one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from safecity.sim.city import build_city
from safecity.sim.frame import CameraRenderer
from safecity.sim.render import city_options
from safecity.sim.truth import CameraView, Lighting
from safecity.sim.views import ObjectView
from safecity.vision.plates.locator import INPUT_SIDE, prepare_region

TRAIN_SEED_BASE = 931_000
CITIES = 100
"""Seeds 931000-931099; the last VALIDATION_CITIES are held out for validation."""
VALIDATION_CITIES = 8
VIEWS: tuple[CameraView, ...] = ("anpr", "overview")
LIGHTINGS: tuple[Lighting, ...] = ("day", "dusk", "night")
SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (640, 360))
MAX_PLATES = 4
"""Plates kept per region (more is rare: a queue of cars seen from behind)."""
PLATE = 1
IGNORE = 2
MIN_PLATE_HEIGHT_PX = 4.0
"""A plate lower than this in the frame is unreadable: neither taught nor penalised."""
_COVERED_MAX = 0.15
_COVERED_HIDDEN = 0.6
_INSIDE_MIN = 0.97
_INSIDE_CUT = 0.5


@dataclass(frozen=True)
class RegionSample:
    """One region as the locator sees it, and what is in it."""

    pixels: npt.NDArray[np.uint8]
    """(INPUT_SIDE, INPUT_SIDE) grey."""
    quads: npt.NDArray[np.float32]
    """(MAX_PLATES, 4, 2) plate corners in input pixels (TL, TR, BR, BL); zero where unused."""
    kinds: npt.NDArray[np.int8]
    """(MAX_PLATES,) 0 unused, PLATE, IGNORE."""
    own_height_px: float
    """The boxed vehicle's plate height in the frame (0: it shows no plate)."""
    region_wh: tuple[int, int]


def combos() -> list[tuple[CameraView, Lighting, tuple[int, int]]]:
    return list(itertools.product(VIEWS, LIGHTINGS, SIZES))


def jittered_box(
    box: tuple[int, int, int, int], rng: np.random.Generator
) -> tuple[float, float, float, float]:
    """The vehicle box as an imperfect detector or follower gives it: centre shifted by up to
    about 20 % of its size, each side scaled by 0.75-1.3; a third of the time nearly exact."""
    x, y, w, h = box
    spread = 0.03 if rng.random() < 0.3 else 0.12
    cx = x + w / 2 + float(np.clip(rng.normal(0, spread), -0.25, 0.25)) * w
    cy = y + h / 2 + float(np.clip(rng.normal(0, spread), -0.25, 0.25)) * h
    sw = float(np.exp(rng.uniform(-0.28, 0.26) if spread > 0.05 else rng.normal(0, 0.04)))
    sh = float(np.exp(rng.uniform(-0.28, 0.26) if spread > 0.05 else rng.normal(0, 0.04)))
    return cx - w * sw / 2, cy - h * sh / 2, w * sw, h * sh


def overlay_mask(renderer: CameraRenderer, frame_index: int) -> npt.NDArray[np.bool_]:
    """The pixels the on-screen display (counter strip, frame number, camera label) draws
    over frame ``frame_index``: drawn on a mid-grey frame, whatever changed.
    (``safecity.sim.counter.overlay_extent`` is a conservative band of the whole width,
    which would call every plate in the frame's top eighth hidden.)"""
    rig = renderer.site.rig
    probe = np.full((rig.height, rig.width, 3), 128, np.uint8)
    renderer._overlay(probe, frame_index, frame_index / renderer.city.fps)
    return np.asarray((probe != 128).any(axis=2))


def plate_cover(views: list[ObjectView], index: int, overlay: npt.NDArray[np.bool_]) -> float:
    """Share of view ``index``'s plate that nearer objects (drawn after it) or the on-screen
    display cover, from their polygons (the simulator draws far to near) and the
    display's drawn pixels."""
    quad = views[index].plate_quad
    if quad is None:
        return 1.0
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int) + 1
    w, h = max(x1 - x0, 1), max(y1 - y0, 1)
    plate = np.zeros((h, w), np.uint8)
    cv2.fillPoly(plate, [np.round(quad - (x0, y0)).astype(np.int32)], 1)
    cover = np.zeros((h, w), np.uint8)
    for nearer in views[index + 1 :]:
        if nearer.box is None:
            continue
        bx, by, bw, bh = nearer.box
        if bx >= x1 or by >= y1 or bx + bw <= x0 or by + bh <= y0:
            continue
        for pixels, _ in nearer.polygons:
            cv2.fillPoly(cover, [np.round(pixels - (x0, y0)).astype(np.int32)], 1)
    frame_h, frame_w = overlay.shape
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + w, frame_w), min(y0 + h, frame_h)
    if cx1 > cx0 and cy1 > cy0:
        cover[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] |= overlay[cy0:cy1, cx0:cx1]
    area = int(plate.sum())
    return float((plate & cover).sum()) / area if area else 1.0


def _height(quad: npt.NDArray[np.float64]) -> float:
    return float((quad[3, 1] - quad[0, 1] + quad[2, 1] - quad[1, 1]) / 2)


def region_sample(
    image: npt.NDArray[np.uint8],
    region: tuple[float, float, float, float],
    plates: list[tuple[npt.NDArray[np.float64], float]],
    own_height: float,
) -> RegionSample | None:
    """The region (x, y, w, h, cut by the frame) with ``plates`` (corners, covered share)
    placed in input pixels; None when the region is smaller than 8 pixels either way."""
    frame_h, frame_w = image.shape[:2]
    x, y, w, h = region
    x0, y0 = max(round(x), 0), max(round(y), 0)
    x1, y1 = min(round(x + w), frame_w), min(round(y + h), frame_h)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    pixels = prepare_region(image[y0:y1, x0:x1])
    scale = np.array([INPUT_SIDE / (x1 - x0), INPUT_SIDE / (y1 - y0)])
    quads = np.zeros((MAX_PLATES, 4, 2), np.float32)
    kinds = np.zeros(MAX_PLATES, np.int8)
    slot = 0
    for quad, covered in plates:
        if slot >= MAX_PLATES:
            break
        inside = _inside_share(quad, (x0, y0, x1, y1))
        if inside < _INSIDE_CUT or covered >= _COVERED_HIDDEN:
            continue  # off the region or hidden: background like any other
        readable = _height(quad) >= MIN_PLATE_HEIGHT_PX
        whole = inside >= _INSIDE_MIN and covered <= _COVERED_MAX
        quads[slot] = (quad - (x0, y0)) * scale
        kinds[slot] = PLATE if whole and readable else IGNORE
        slot += 1
    return RegionSample(pixels, quads, kinds, own_height, (x1 - x0, y1 - y0))


def _inside_share(quad: npt.NDArray[np.float64], bounds: tuple[int, int, int, int]) -> float:
    """Share of the quad's bounding box inside ``bounds`` (x0, y0, x1, y1)."""
    qx0, qy0 = quad.min(axis=0)
    qx1, qy1 = quad.max(axis=0)
    area = max(qx1 - qx0, 1e-6) * max(qy1 - qy0, 1e-6)
    ix = max(0.0, min(qx1, bounds[2]) - max(qx0, bounds[0]))
    iy = max(0.0, min(qy1, bounds[3]) - max(qy0, bounds[1]))
    return float(ix * iy / area)


def compress(image_bgr: npt.NDArray[np.uint8], quality: int) -> npt.NDArray[np.uint8]:
    """JPEG round trip: the blocky loss of the H.264 streams the workers decode."""
    ok, data = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), np.uint8)


def city_regions(
    seed: int,
    view: CameraView,
    lighting: Lighting,
    size: tuple[int, int],
    *,
    cameras: int,
    duration_s: float,
    every: int,
    fps: int = 10,
    per_vehicle: int = 2,
    background: float = 0.3,
) -> Iterator[RegionSample]:
    """Regions of every ``every``-th frame of each camera of city ``seed``: ``per_vehicle``
    jittered boxes per vehicle and, with probability ``background``, one box of a
    vehicle's size somewhere else in the frame (a detector's false alarm)."""
    width, height = size
    options = city_options(
        seed,
        duration_s,
        cameras=cameras,
        width=width,
        height=height,
        fps=fps,
        lighting=lighting,
        view=view,
        vehicles_per_minute=90.0,
    )
    city = build_city(options)
    rng = np.random.default_rng([seed, 77])
    for site in city.cameras:
        renderer = CameraRenderer(city, site)
        for index in range(int(rng.integers(0, every)), city.frame_count, every):
            image, views = renderer.render(index)
            if rng.random() < 0.75:
                image = compress(image, int(rng.integers(25, 90)))
            overlay = overlay_mask(renderer, index)
            plates = [
                (view_.plate_quad, plate_cover(views, i, overlay))
                for i, view_ in enumerate(views)
                if view_.plate_quad is not None and view_.vehicle is not None
            ]
            vehicles = [v for v in views if v.vehicle is not None and v.box is not None]
            for shown in vehicles:
                assert shown.box is not None
                if min(shown.box[2:]) < 16:
                    continue
                quad = shown.plate_quad
                own = _height(quad) if quad is not None else 0.0
                for _ in range(per_vehicle):
                    sample = region_sample(image, jittered_box(shown.box, rng), plates, own)
                    if sample is not None:
                        yield sample
            if vehicles and rng.random() < background:
                _, _, bw, bh = vehicles[int(rng.integers(len(vehicles)))].box  # type: ignore[misc]
                bx = float(rng.uniform(-0.2 * bw, width - 0.8 * bw))
                by = float(rng.uniform(-0.2 * bh, height - 0.8 * bh))
                sample = region_sample(image, (bx, by, bw, bh), plates, 0.0)
                if sample is not None:
                    yield sample
