"""Draws one camera's frames: backdrop, signal lamps, vehicles with plates, people, overlay."""

from __future__ import annotations

from datetime import datetime, timedelta

import cv2
import numpy as np

from safecity.sim.backdrop import (
    SIGNAL_LAMP_RADIUS_M,
    SIGNAL_LAMPS_M,
    SIGNAL_LATERAL_M,
    blend,
    draw_backdrop,
    signal_head_x,
)
from safecity.sim.counter import burn_counter, strip_extent
from safecity.sim.plate_render import plate_images
from safecity.sim.plates import Colour
from safecity.sim.raster import Image, add_glow, as_image, fill, tone
from safecity.sim.scene import CameraSite, City, Vehicle
from safecity.sim.truth import Lighting
from safecity.sim.views import CameraScene, ObjectView, smear_px

_LAMP_COLOURS: dict[str, Colour] = {
    "red": (40, 40, 255),
    "amber": (0, 190, 255),
    "green": (110, 255, 70),
}
_PLATE_LIGHT: dict[Lighting, float] = {"day": 1.0, "dusk": 0.88, "night": 0.78}
"""Plates stay brighter than the scene after dark: number-plate lamps and camera IR."""
_NOISE_SIGMA: dict[Lighting, float] = {"day": 0.0, "dusk": 1.0, "night": 2.5}
_PKT = timedelta(hours=5)
_LIT: dict[str, Colour] = {"headlight": (225, 245, 250), "taillight": (50, 50, 240)}


def _mix(colour: Colour, first: Lighting, second: Lighting, weight: float) -> Colour:
    a, b = tone(colour, first), tone(colour, second)
    return (
        int(a[0] + (b[0] - a[0]) * weight),
        int(a[1] + (b[1] - a[1]) * weight),
        int(a[2] + (b[2] - a[2]) * weight),
    )


class CameraRenderer:
    """Renders the frames of one camera; caches backdrops, plate images and noise."""

    def __init__(self, city: City, site: CameraSite) -> None:
        self.city = city
        self.site = site
        self.scene = CameraScene(city, site)
        self._backdrops: dict[Lighting, Image] = {}
        self._plates: dict[int, list[Image]] = {}
        self._noise: dict[Lighting, list[tuple[Image, Image]]] = {}

    def backdrop(self, lighting: Lighting) -> Image:
        if lighting not in self._backdrops:
            self._backdrops[lighting] = draw_backdrop(self.site, lighting)
        return self._backdrops[lighting]

    def sensor_noise(self, lighting: Lighting) -> list[tuple[Image, Image]]:
        """A few frames of sensor noise (as positive and negative parts) cycled after dark."""
        sigma = _NOISE_SIGMA[lighting]
        if sigma == 0:
            return []
        if lighting not in self._noise:
            rig = self.site.rig
            rng = np.random.default_rng([self.city.seed, 9, rig.width, int(sigma)])
            pairs = []
            for _ in range(3):
                noise = rng.standard_normal((rig.height, rig.width, 3), dtype=np.float32) * sigma
                pairs.append(
                    (
                        np.clip(noise, 0, 255).astype(np.uint8),
                        np.clip(-noise, 0, 255).astype(np.uint8),
                    )
                )
            self._noise[lighting] = pairs
        return self._noise[lighting]

    def render(self, frame_index: int) -> tuple[Image, list[ObjectView]]:
        time_s = frame_index / self.city.fps
        first, second, weight = self.city.lighting.blend_at(time_s)
        base = self.backdrop(first)
        image = blend(base, self.backdrop(second), weight) if weight > 0 else base.copy()
        condition = second if weight >= 0.5 else first
        self._signal(image, time_s, condition)
        views = self.scene.views(time_s)
        dark = condition != "day"
        for view in views:
            for pixels, colour in view.polygons:
                fill(image, pixels, _mix(colour, first, second, weight))
            vehicle = view.vehicle
            if vehicle is not None:
                self._plate(image, view, vehicle, condition)
                if dark and vehicle.headlights:
                    self._lights(image, view)
        noise = self.sensor_noise(condition)
        if noise:
            positive, negative = noise[frame_index % len(noise)]
            image = as_image(cv2.subtract(cv2.add(image, positive), negative))
        self._overlay(image, frame_index, time_s)
        return image, views

    def _signal(self, image: Image, time_s: float, lighting: Lighting) -> None:
        plan, x = self.site.signal, signal_head_x(self.site)
        if plan is None or x is None:
            return
        rig = self.site.rig
        state = plan.state_at(time_s)
        for name, height in SIGNAL_LAMPS_M.items():
            point = rig.to_camera(np.array([[x + 0.01, SIGNAL_LATERAL_M, height]]))
            centre = rig.to_pixels(point)[0]
            radius = max(SIGNAL_LAMP_RADIUS_M * rig.focal_px / point[0, 2], 1.0)
            lit = name == state
            colour = _LAMP_COLOURS[name] if lit else tone(_LAMP_COLOURS[name], "night")
            cv2.circle(
                image,
                (round(centre[0] * 16), round(centre[1] * 16)),
                round(radius * 16),
                colour,
                -1,
                cv2.LINE_AA,
                4,
            )
            if lit and lighting != "day":
                add_glow(image, (centre[0], centre[1]), radius * 2.0, colour, 0.5)

    def _plate(self, image: Image, view: ObjectView, vehicle: Vehicle, lighting: Lighting) -> None:
        quad = view.plate_quad
        if quad is None:
            return
        height, width = image.shape[:2]
        x0, y0 = max(int(np.floor(quad[:, 0].min())), 0), max(int(np.floor(quad[:, 1].min())), 0)
        x1, y1 = (
            min(int(np.ceil(quad[:, 0].max())) + 1, width),
            min(int(np.ceil(quad[:, 1].max())) + 1, height),
        )
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        if vehicle.key not in self._plates:
            self._plates[vehicle.key] = plate_images(
                vehicle.plate, vehicle.look, vehicle.texture_seed
            )
        on_screen = float(np.hypot(*(quad[1] - quad[0])))
        levels = self._plates[vehicle.key]
        texture = levels[0]
        for level in levels:
            if level.shape[1] >= on_screen * 1.3:
                texture = level
        if lighting != "day":
            light = _PLATE_LIGHT[lighting]
            texture = as_image(cv2.convertScaleAbs(texture, alpha=light))
        tex_h, tex_w = texture.shape[:2]
        source = np.array([[0, 0], [tex_w, 0], [tex_w, tex_h], [0, tex_h]], np.float32)
        target = (quad - np.array([x0, y0])).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(source, target)
        roi = image[y0:y1, x0:x1]
        cv2.warpPerspective(
            texture,
            matrix,
            (x1 - x0, y1 - y0),
            dst=roi,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_TRANSPARENT,
        )
        self._motion_blur(image, view, vehicle)

    def _motion_blur(self, image: Image, view: ObjectView, vehicle: Vehicle) -> None:
        """Smear the vehicle along its image motion for the part of a frame the shutter is open."""
        dx, dy = view.plate_motion_px
        size = smear_px(vehicle.look.motion_blur, view.plate_motion_px)
        if not size or view.box is None:
            return
        kernel = np.zeros((size, size), np.float32)
        half = size // 2
        norm = float(np.hypot(dx, dy))
        ux, uy = dx / norm * half, dy / norm * half
        cv2.line(
            kernel,
            (round(half - ux), round(half - uy)),
            (round(half + ux), round(half + uy)),
            1.0,
            1,
        )
        kernel /= kernel.sum()
        x, y, w, h = view.box
        roi = image[y : y + h, x : x + w]
        roi[:] = cv2.filter2D(roi, -1, kernel, borderType=cv2.BORDER_REPLICATE)

    def _lights(self, image: Image, view: ObjectView) -> None:
        for pixels, kind in view.lamps:
            fill(image, pixels, _LIT[kind])
            centre = pixels.mean(axis=0)
            radius = max(float(np.ptp(pixels[:, 0])), 1.0) * (1.0 if kind == "headlight" else 0.8)
            colour: Colour = (210, 235, 255) if kind == "headlight" else (40, 40, 230)
            add_glow(image, (float(centre[0]), float(centre[1])), radius, colour, 0.8)

    def _overlay(self, image: Image, frame_index: int, time_s: float) -> None:
        """Frame counter top left, camera id and local time top right (like a real OSD).

        The label moves below the counter strip when the frame is too narrow for
        both on one row: it must never cover a block of the counter.
        """
        burn_counter(image, frame_index)
        height, width = image.shape[:2]
        _, _, strip_right, strip_bottom = strip_extent(width, height)
        scale = height / 720
        font_scale = 0.8 * scale
        thickness = max(round(2 * scale), 1)
        margin = max(round(10 * scale), 2)
        start = datetime.fromisoformat(self.city.start_utc.replace("Z", "+00:00"))
        local = start + timedelta(seconds=time_s) + _PKT
        label = f"{self.site.id.upper()}  {local:%Y-%m-%d %H:%M:%S} PKT"
        number = f"{frame_index:06d}"
        font = cv2.FONT_HERSHEY_SIMPLEX
        (number_w, text_h), _ = cv2.getTextSize(number, font, font_scale, thickness)
        (label_w, _), _ = cv2.getTextSize(label, font, font_scale, thickness)
        baseline_y = (strip_bottom + text_h) // 2
        number_at = (strip_right + margin, baseline_y)
        label_at = (width - label_w - margin, baseline_y)
        if label_at[0] < number_at[0] + number_w + margin:
            label_at = (margin, strip_bottom + text_h + margin)
        for text, origin in ((number, number_at), (label, label_at)):
            for colour, weight in (((0, 0, 0), thickness + 2), ((255, 255, 255), thickness)):
                cv2.putText(image, text, origin, font, font_scale, colour, weight, cv2.LINE_AA)
