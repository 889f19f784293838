"""What one camera sees of a vehicle or pedestrian at one instant (pure numpy).

The renderer draws these views and the ground truth is read from the very same
views, so a plate box in ``ground_truth.json`` is exactly where the plate was
pasted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from safecity.sim.geometry import CameraRig, Cuboid, bounding_box, quad_on_end
from safecity.sim.plates import Colour, plate_size_m
from safecity.sim.scene import CameraSite, City, Pedestrian, Vehicle
from safecity.sim.vehicles import SKIN, Detail, Part

MAX_BLUR_PX = 25
"""The longest motion blur the renderer draws, pixels."""


def smear_px(motion_blur: float, motion_px: tuple[float, float]) -> int:
    """How far the renderer smears a vehicle, in pixels (the size of its blur kernel):
    its image motion in one frame interval times the shutter's open share of it, none
    under 1.5 px, at most :data:`MAX_BLUR_PX`, and odd (the kernel has a centre)."""
    length = motion_blur * float(np.hypot(*motion_px))
    if length < 1.5:
        return 0
    return min(int(np.ceil(length)), MAX_BLUR_PX) | 1


Pixels = NDArray[np.float64]
"""(N, 2) pixel coordinates."""

_FACE_SHADE = {"end": 0.9, "back": 0.9, "side": 0.7, "top": 1.06}
_FIXED: dict[str, Colour] = {
    "glass": (70, 60, 52),
    "dark": (30, 30, 30),
    "canopy": (32, 34, 36),
    "cargo": (45, 80, 120),
    "skin": SKIN,
    # Lamps as they look switched off; the renderer lights them after dark.
    "headlight": (165, 175, 178),
    "taillight": (40, 40, 120),
    "grille": (45, 45, 45),
    "board": (20, 20, 20),
    "bumper": (60, 60, 62),
}


def _scaled(colour: Colour, factor: float) -> Colour:
    return (
        min(int(colour[0] * factor), 255),
        min(int(colour[1] * factor), 255),
        min(int(colour[2] * factor), 255),
    )


@dataclass
class ObjectView:
    """Polygons to fill (far to near), lamps to light and, for a vehicle, its plate."""

    depth_m: float
    """Corridor position of the end nearest the camera; larger is nearer."""
    polygons: list[tuple[Pixels, Colour]] = field(default_factory=list)
    lamps: list[tuple[Pixels, str]] = field(default_factory=list)
    plate_quad: Pixels | None = None
    """Plate corners: top-left, top-right, bottom-right, bottom-left."""
    plate_motion_px: tuple[float, float] = (0.0, 0.0)
    """How far the plate centre moves in the image in one frame interval (dx, dy)."""
    box: tuple[int, int, int, int] | None = None
    vehicle: Vehicle | None = None
    pedestrian: Pedestrian | None = None

    def add(self, rig: CameraRig, points: NDArray[np.float64], colour: Colour) -> None:
        pixels = rig.project_polygon(points)
        if pixels is not None and len(pixels) >= 3:
            self.polygons.append((pixels, colour))

    def finish(self, rig: CameraRig) -> None:
        if self.polygons:
            self.box = bounding_box(np.vstack([p for p, _ in self.polygons]), rig.width, rig.height)


def _part_box(vehicle: Vehicle, part: Part, front_m: float) -> Cuboid:
    length = vehicle.model.length
    if vehicle.direction > 0:
        x0, x1 = front_m - length + part.rear, front_m - length + part.front
    else:
        x0, x1 = front_m + length - part.front, front_m + length - part.rear
    y = vehicle.lateral_m
    return Cuboid(x0, x1, y - part.half_width, y + part.half_width, part.bottom, part.top)


def _part_colour(vehicle: Vehicle, part: Part) -> Colour:
    if part.shade == "body":
        return vehicle.body
    if part.shade in ("crown", "rider"):
        return vehicle.art[0] if part.shade == "crown" else vehicle.art[-1]
    return _FIXED[part.shade]


def _side_stripes(
    view: ObjectView, rig: CameraRig, vehicle: Vehicle, box: Cuboid, part: Part
) -> None:
    """Window bands of buses and vans, truck-art stripes on cargo bodies."""
    if box.y0 <= rig.lateral_m <= box.y1:
        return  # seen from straight behind or ahead: no side in view
    side_y = box.y1 if rig.lateral_m > box.y1 else box.y0
    x0, x1 = box.x0 + 0.4, box.x1 - 0.4
    bands: list[tuple[float, float, Colour]] = []
    kind = vehicle.model.vehicle_class
    if kind == "bus":
        bands = [
            (1.1, 1.3, vehicle.art[1]),
            (1.6, 2.6, _FIXED["glass"]),
            (2.7, 2.85, vehicle.art[2]),
        ]
    elif kind == "van":
        bands = [(1.2, 1.75, _FIXED["glass"])]
    elif kind == "truck" and part.shade == "cargo":
        bands = [
            (1.1, 1.35, vehicle.art[0]),
            (1.6, 1.9, vehicle.art[1]),
            (2.2, 2.6, vehicle.art[2]),
        ]
    for z0, z1, colour in bands:
        quad = np.array([[x0, side_y, z0], [x1, side_y, z0], [x1, side_y, z1], [x0, side_y, z1]])
        view.add(rig, quad, _scaled(colour, _FACE_SHADE["side"]))


def _end_detail(
    view: ObjectView, rig: CameraRig, vehicle: Vehicle, box: Cuboid, detail: Detail
) -> None:
    centre = vehicle.lateral_m + (detail.v0 + detail.v1) / 2
    quad = quad_on_end(box.x1 + 0.01, centre, (detail.v1 - detail.v0) / 2, detail.w0, detail.w1)
    pixels = rig.project_polygon(quad)
    if pixels is None:
        return
    if detail.kind in ("headlight", "taillight"):
        view.lamps.append((pixels, detail.kind))
    colour = vehicle.art[3] if detail.kind == "board" else _FIXED[detail.kind]
    view.polygons.append((pixels, colour))


def _crown_art(view: ObjectView, rig: CameraRig, vehicle: Vehicle, box: Cuboid) -> None:
    """Nested panels in truck-art colours on the crown above a truck's cab."""
    half = (box.y1 - box.y0) / 2
    for ring in range(1, 4):
        inset = 0.12 * ring
        quad = quad_on_end(
            box.x1 + 0.01 * ring, vehicle.lateral_m, half - inset, box.z0 + inset, box.z1 - inset
        )
        view.add(rig, quad, vehicle.art[ring % len(vehicle.art)])


def vehicle_view(rig: CameraRig, vehicle: Vehicle, time_s: float, fps: int) -> ObjectView | None:
    """The vehicle as ``rig`` sees it at ``time_s``; None when no part is in the frame."""
    front = vehicle.front_at(time_s)
    low, high = vehicle.span_at(time_s)
    if high < rig.position_m - rig.far_ground_m - 1.0 or low > rig.position_m:
        return None
    model = vehicle.model
    eye = rig.centre
    view = ObjectView(depth_m=high, vehicle=vehicle)
    order = model.order_front if vehicle.direction > 0 else model.order_rear
    details = model.front_details if vehicle.direction > 0 else model.rear_details
    boxes = [_part_box(vehicle, part, front) for part in model.parts]
    for index in order:
        part, box = model.parts[index], boxes[index]
        base = _part_colour(vehicle, part)
        for name, quad in box.faces_towards(eye):
            shade = 1.06 if name == "top" and part.shade == "glass" else _FACE_SHADE[name]
            colour = vehicle.body if name == "top" and part.shade == "glass" else base
            view.add(rig, quad, _scaled(colour, shade))
            if name == "side":
                _side_stripes(view, rig, vehicle, box, part)
        if eye[0] > box.x1:
            if part.shade == "crown":
                _crown_art(view, rig, vehicle, box)
            for detail in details:
                if detail.part == index:
                    _end_detail(view, rig, vehicle, box, detail)
    view.finish(rig)
    if view.box is None:
        return None
    # A rear plate hangs on part 0, the rearmost part at road level in every model.
    plate_box = boxes[model.plate_part if vehicle.direction > 0 else 0]
    if eye[0] > plate_box.x1:
        width, height = plate_size_m(vehicle.plate)
        quad = quad_on_end(
            plate_box.x1 + 0.02,
            vehicle.lateral_m,
            width / 2,
            model.plate_height - height / 2,
            model.plate_height + height / 2,
        )
        camera_points = rig.to_camera(quad)
        if camera_points[:, 2].min() > 0.5:
            view.plate_quad = rig.to_pixels(camera_points)
            # Where the plate is a frame later: nothing moves while the vehicle waits.
            step = vehicle.front_at(time_s + 1.0 / fps) - front
            later = quad + np.array([step, 0.0, 0.0])
            moved = rig.to_pixels(rig.to_camera(later)) - view.plate_quad
            view.plate_motion_px = (float(moved[:, 0].mean()), float(moved[:, 1].mean()))
    return view


def pedestrian_view(rig: CameraRig, walker: Pedestrian, time_s: float) -> ObjectView | None:
    """A walker as a flat figure facing the camera, legs swinging with the stride."""
    if not walker.start_s <= time_s <= walker.end_s:
        return None
    x = walker.crossing_m
    if not rig.position_m - rig.far_ground_m - 1.0 < x < rig.position_m:
        return None
    y = walker.lateral_at(time_s)
    tall = walker.height_m
    stride = 0.16 * np.sin((time_s - walker.start_s) * walker.speed_m_s * np.pi / 0.7)
    view = ObjectView(depth_m=x, pedestrian=walker)
    trousers = _scaled(walker.clothes, 0.6)
    for swing in (stride, -stride):
        view.add(rig, quad_on_end(x, y + swing, 0.06, 0.0, tall * 0.5), trousers)
    view.add(rig, quad_on_end(x, y, 0.2, tall * 0.45, tall * 0.84), walker.clothes)
    view.add(rig, quad_on_end(x, y, 0.09, tall * 0.84, tall), SKIN)
    view.finish(rig)
    return view if view.box is not None else None


def plate_occluded(
    plate: tuple[int, int, int, int], nearer: list[tuple[int, int, int, int]]
) -> bool:
    """True when any nearer object's box overlaps the plate box (a conservative test)."""
    x, y, w, h = plate
    return any(
        ox < x + w and x < ox + ow and oy < y + h and y < oy + oh for ox, oy, ow, oh in nearer
    )


class CameraScene:
    """Finds what one camera sees at any instant, checking only vehicles that can be in view."""

    def __init__(self, city: City, site: CameraSite) -> None:
        self.city = city
        self.site = site
        rig = site.rig
        low, high = rig.position_m - rig.far_ground_m - 1.0, rig.position_m
        self._candidates: list[tuple[float, float, Vehicle]] = []
        for vehicle in city.vehicles:
            start, end = vehicle.interval_in(low, high)
            self._candidates.append((start - 0.5, end + 0.5, vehicle))
        self._walkers = [w for w in city.pedestrians if city.cameras[w.camera].id == site.id]

    def views(self, time_s: float) -> list[ObjectView]:
        """Everything in view at ``time_s``, in drawing order (farthest first)."""
        rig = self.site.rig
        found: list[ObjectView] = []
        for start, end, vehicle in self._candidates:
            if start <= time_s <= end:
                view = vehicle_view(rig, vehicle, time_s, self.city.fps)
                if view is not None:
                    found.append(view)
        for walker in self._walkers:
            view = pedestrian_view(rig, walker, time_s)
            if view is not None:
                found.append(view)
        found.sort(key=lambda view: view.depth_m)
        return found
