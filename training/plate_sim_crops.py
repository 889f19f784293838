"""Plate crops cut from the simulator's own renders, labelled from the views they came from.

The synthetic plates of :mod:`training.plate_synth` are drawn flat and degraded by hand;
the cameras of the simulator render them differently (perspective warp of a mip-mapped
texture, the vehicle's motion blur smeared over the plate, night gain and sensor noise,
headlight glow, then H.264 or JPEG). This module renders frames exactly as the videos
are drawn (:class:`safecity.sim.frame.CameraRenderer`) and cuts each visible plate out
the way a plate locator would hand it to the recogniser: a box around the plate's
corners, loose or tight, its sides jittered, sometimes clipped a little.

Labels are exact: every ``ObjectView`` carries the plate's corners (``plate_quad``)
and its vehicle, whose ``plate.registration`` is what ``ground_truth.json`` records as
the vehicle's plate. Plates shorter than :data:`MIN_PLATE_HEIGHT_PX`, partly outside the
frame, or overlapped by a nearer object's box or the on-screen display are skipped:
their registration may not be legible, so a label would be a guess.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from safecity.sim.city import build_city
from safecity.sim.counter import overlay_extent
from safecity.sim.encode import H264Writer
from safecity.sim.frame import CameraRenderer
from safecity.sim.geometry import bounding_box
from safecity.sim.render import city_options
from safecity.sim.truth import CameraView, Lighting
from safecity.sim.views import ObjectView, plate_occluded
from training.plate_synth import INPUT_HEIGHT, INPUT_WIDTH, SLOTS, encode

Image = npt.NDArray[np.uint8]
MIN_PLATE_HEIGHT_PX = 8.0
"""Below this height the simulator's plates are a few blurred pixels per character."""
MAX_BLUR_SHARE = 1.0
"""Plates smeared by motion over more than this many plate heights are skipped: the
renderer's blur (up to 25 px) wipes out every character of a small plate."""
_MAX_BLUR_PX = 25.0
"""The renderer's cap on a motion-blur kernel (``safecity.sim.frame``)."""
VIEWS: tuple[CameraView, ...] = ("overview", "anpr")
LIGHTINGS: tuple[Lighting, ...] = ("day", "dusk", "night")
SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (640, 360))
TRAIN_SEEDS = range(932_000, 932_200)
"""Cities rendered for training; never used for anything else."""
DEPLOYMENT_SEEDS = range(934_000, 935_000)
"""Further training cities, all rendered as analytics sees the videos (ANPR view,
1280x720, H.264 near the recorder's crf 23); never used for anything else."""


@dataclass(frozen=True)
class RenderPlan:
    """How one seed's city is rendered and its frames degraded."""

    seed: int
    view: CameraView
    lighting: Lighting
    size: tuple[int, int]
    fps: int
    codec: str
    """``h264`` (crf ``quality``), ``jpeg`` (quality ``quality``) or ``raw``."""
    quality: int


def plan_for(seed: int) -> RenderPlan:
    """Mostly the ANPR view (the overview's plates are mostly under 8 px), every lighting,
    both frame sizes, 10 and 15 fps (motion blur is per frame interval), and the H.264
    round trip of the recorded videos for most seeds."""
    rng = np.random.default_rng([seed, 77])
    if seed in DEPLOYMENT_SEEDS:
        lighting = LIGHTINGS[int(rng.integers(0, 3))]
        fps = 10 if rng.random() < 0.6 else 15
        crf = int(rng.choice([20, 23, 23, 26]))
        return RenderPlan(seed, "anpr", lighting, SIZES[0], fps, "h264", crf)
    view: CameraView = "anpr" if rng.random() < 0.65 else "overview"
    lighting = LIGHTINGS[int(rng.integers(0, 3))]
    small = rng.random() < (0.4 if view == "anpr" else 0.15)
    size = SIZES[1] if small else SIZES[0]
    fps = 10 if rng.random() < 0.6 else 15
    roll = rng.random()
    if roll < 0.6:
        codec, quality = "h264", int(rng.choice([20, 23, 23, 26, 30]))
    elif roll < 0.9:
        codec, quality = "jpeg", int(rng.integers(25, 91))
    else:
        codec, quality = "raw", 100
    return RenderPlan(seed, view, lighting, size, fps, codec, quality)


def is_deployment_condition(seed: int) -> bool:
    """Is city ``seed`` rendered as analytics sees the videos: ANPR view, 1280x720, H.264?"""
    plan = plan_for(seed)
    return plan.view == "anpr" and plan.size == SIZES[0] and plan.codec == "h264"


@dataclass(frozen=True)
class PlateInFrame:
    """One legible plate of one rendered frame."""

    quad: npt.NDArray[np.float64]
    registration: str
    height_px: float
    blur_px: float
    """Length of the motion-blur smear the renderer drew over the plate (0: none)."""


def blur_length(view: ObjectView) -> float:
    """The renderer's motion-blur length for this view (``CameraRenderer._motion_blur``)."""
    if view.vehicle is None:
        return 0.0
    length = view.vehicle.look.motion_blur * float(np.hypot(*view.plate_motion_px))
    return 0.0 if length < 1.5 else min(length, _MAX_BLUR_PX)


def legible_plates(views: list[ObjectView], width: int, height: int) -> list[PlateInFrame]:
    """Plates wholly in the frame, not overlapped, at least MIN_PLATE_HEIGHT_PX tall and
    smeared by motion over at most MAX_BLUR_SHARE of their height.

    The same tests as the ground truth's ``plate_occluded`` (nearer objects' boxes and
    the on-screen display band), so a kept plate is one the videos show unobstructed."""
    found: list[PlateInFrame] = []
    for index, view in enumerate(views):
        quad, vehicle = view.plate_quad, view.vehicle
        if quad is None or vehicle is None or view.box is None:
            continue
        inside = (
            quad[:, 0].min() >= 0
            and quad[:, 1].min() >= 0
            and quad[:, 0].max() <= width
            and quad[:, 1].max() <= height
        )
        plate_height = float((quad[3, 1] - quad[0, 1] + quad[2, 1] - quad[1, 1]) / 2)
        blur = blur_length(view)
        if not inside or plate_height < MIN_PLATE_HEIGHT_PX or blur > MAX_BLUR_SHARE * plate_height:
            continue
        nearer = [other.box for other in views[index + 1 :] if other.box is not None]
        nearer.append(overlay_extent(width, height))
        plate_box = bounding_box(quad, width, height)
        if plate_box is None or plate_occluded(plate_box, nearer):
            continue
        found.append(PlateInFrame(quad.copy(), vehicle.plate.registration, plate_height, blur))
    return found


def locator_box(
    quad: npt.NDArray[np.float64], rng: np.random.Generator, width: int, height: int
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around the plate as a locator might return it.

    Tight (40 %): each side within -5 % (cutting into the plate's border) to +12 % of the
    plate's size; loose (60 %): sides 0-25 % of the width out, top and bottom 0-60 % of the
    height out. The clipped sides never reach the characters of the simulator's designs,
    which keep a margin of more than 5 % on every side."""
    x0, y0 = float(quad[:, 0].min()), float(quad[:, 1].min())
    x1, y1 = float(quad[:, 0].max()), float(quad[:, 1].max())
    w, h = x1 - x0, y1 - y0
    if rng.random() < 0.4:
        left, right = rng.uniform(-0.05, 0.12, 2) * w
        top, bottom = rng.uniform(-0.05, 0.12, 2) * h
    else:
        left, right = rng.uniform(0.0, 0.25, 2) * w
        top, bottom = rng.uniform(0.0, 0.6, 2) * h
    box = (
        max(int(np.floor(x0 - left)), 0),
        max(int(np.floor(y0 - top)), 0),
        min(int(np.ceil(x1 + right)), width),
        min(int(np.ceil(y1 + bottom)), height),
    )
    if box[2] - box[0] < 2 or box[3] - box[1] < 2:
        raise ValueError(f"plate box {box} is empty")
    return box


def model_input(crop_bgr: Image) -> Image:
    """Grey, resized to the model input exactly as ``safecity.vision.plates.slots`` does."""
    grey = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY)
    shrink = grey.shape[0] > INPUT_HEIGHT or grey.shape[1] > INPUT_WIDTH
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.asarray(
        cv2.resize(grey, (INPUT_WIDTH, INPUT_HEIGHT), interpolation=interpolation), np.uint8
    )


def _jpeg(image: Image, quality: int) -> Image:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), np.uint8)


def _h264_round_trip(frames: list[Image], plan: RenderPlan) -> list[Image]:
    """The frames through the simulator's own H.264 writer and back (PyAV decode)."""
    width, height = plan.size
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "round-trip.mp4"
        with H264Writer(path, width, height, plan.fps, crf=plan.quality) as writer:
            for frame in frames:
                writer.write(frame)
        with av.open(str(path)) as container:
            decoded = [
                np.asarray(f.to_ndarray(format="bgr24"), np.uint8)
                for f in container.decode(video=0)
            ]
    if len(decoded) != len(frames):
        raise RuntimeError(f"H.264 round trip gave {len(decoded)} frames for {len(frames)}")
    return decoded


@dataclass(frozen=True)
class SeedCrops:
    """The crops of one seed: model inputs, slot labels and what each crop shows."""

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]
    heights: npt.NDArray[np.float32]
    blurs: npt.NDArray[np.float32]
    registrations: list[str]
    plan: RenderPlan


def seed_crops(
    seed: int, *, duration_s: float = 30.0, every: int = 4, crops_per_plate: int = 2
) -> SeedCrops:
    """Render every ``every``-th frame of both cameras of city ``seed`` and cut
    ``crops_per_plate`` differently boxed crops of each legible plate."""
    plan = plan_for(seed)
    width, height = plan.size
    options = city_options(
        seed,
        duration_s,
        cameras=2,
        width=width,
        height=height,
        fps=plan.fps,
        lighting=plan.lighting,
        view=plan.view,
        vehicles_per_minute=90.0,
    )
    city = build_city(options)
    rng = np.random.default_rng([seed, 78])
    images: list[Image] = []
    labels: list[npt.NDArray[np.int64]] = []
    heights: list[float] = []
    blurs: list[float] = []
    registrations: list[str] = []
    for site in city.cameras:
        renderer = CameraRenderer(city, site)
        frames: list[Image] = []
        plates: list[list[PlateInFrame]] = []
        for index in range(every // 2, city.frame_count, every):
            image, views = renderer.render(index)
            found = legible_plates(views, width, height)
            if found:
                frames.append(image)
                plates.append(found)
        if plan.codec == "h264" and frames:
            frames = _h264_round_trip(frames, plan)
        elif plan.codec == "jpeg":
            frames = [_jpeg(frame, plan.quality) for frame in frames]
        for frame, found in zip(frames, plates, strict=True):
            for plate in found:
                if len(plate.registration) > SLOTS:
                    raise ValueError(f"registration {plate.registration!r} exceeds {SLOTS} slots")
                for _ in range(crops_per_plate):
                    x0, y0, x1, y1 = locator_box(plate.quad, rng, width, height)
                    images.append(model_input(frame[y0:y1, x0:x1]))
                    labels.append(encode(plate.registration))
                    heights.append(plate.height_px)
                    blurs.append(plate.blur_px)
                    registrations.append(plate.registration)
    shape = (len(images), INPUT_HEIGHT, INPUT_WIDTH)
    return SeedCrops(
        images=np.array(images, np.uint8).reshape(shape),
        labels=np.array(labels, np.int64).reshape(-1, SLOTS),
        heights=np.array(heights, np.float32),
        blurs=np.array(blurs, np.float32),
        registrations=registrations,
        plan=plan,
    )


def generate_sim_chunk(seeds: list[int], path: Path) -> int:
    """The crops of ``seeds`` as one compressed ``.npz`` (images, labels, plate heights and
    blur lengths, and per
    crop the index of its lighting, view and frame size); the number of crops."""
    parts = [seed_crops(seed) for seed in seeds]
    count = sum(len(part.labels) for part in parts)

    def per_crop(value: list[int]) -> npt.NDArray[np.int8]:
        return np.concatenate(
            [np.full(len(part.labels), v, np.int8) for part, v in zip(parts, value, strict=True)]
        )

    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        images=np.concatenate([part.images for part in parts]),
        labels=np.concatenate([part.labels for part in parts]),
        heights=np.concatenate([part.heights for part in parts]),
        blurs=np.concatenate([part.blurs for part in parts]),
        lighting=per_crop([LIGHTINGS.index(part.plan.lighting) for part in parts]),
        view=per_crop([VIEWS.index(part.plan.view) for part in parts]),
        size=per_crop([SIZES.index(part.plan.size) for part in parts]),
        seed=np.concatenate(
            [np.full(len(part.labels), part.plan.seed, np.int64) for part in parts]
        ),
    )
    return count
