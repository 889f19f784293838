"""World and camera geometry of the corridor (pure numpy).

World axes, metres: ``x`` runs along the corridor in the legal direction of
travel, ``y`` across the road from the median edge (0) towards the kerb, ``z``
up. Every camera hangs above the road looking back along the corridor (towards
decreasing ``x``) at the oncoming traffic, tilted down; so image columns grow
with ``y`` and a vehicle approaches from the top of the frame to the bottom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Points = NDArray[np.float64]
"""An (N, 3) array of world or camera points."""

NEAR_PLANE_M = 0.3
"""Geometry closer to the lens than this is cut away (it would project to infinity)."""


@dataclass(frozen=True)
class CameraRig:
    """A pinhole camera on a pole at ``(position_m, lateral_m, height_m)``."""

    position_m: float
    lateral_m: float
    height_m: float
    hfov_deg: float
    top_ray_deg: float
    """Depression of the ray through the top image edge: keeps the horizon out of view."""
    width: int
    height: int

    @property
    def focal_px(self) -> float:
        return (self.width / 2) / math.tan(math.radians(self.hfov_deg) / 2)

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2 * math.atan((self.height / 2) / self.focal_px))

    @property
    def tilt_deg(self) -> float:
        return self.vfov_deg / 2 + self.top_ray_deg

    @property
    def far_ground_m(self) -> float:
        """Ground distance ahead of the pole seen at the top image edge; nothing beyond is seen."""
        return self.height_m / math.tan(math.radians(self.top_ray_deg))

    @property
    def centre(self) -> NDArray[np.float64]:
        return np.array([self.position_m, self.lateral_m, self.height_m])

    def axes(self) -> NDArray[np.float64]:
        """Rows: image right, image down, optical axis, in world coordinates."""
        tilt = math.radians(self.tilt_deg)
        return np.array(
            [
                [0.0, 1.0, 0.0],
                [math.sin(tilt), 0.0, -math.cos(tilt)],
                [-math.cos(tilt), 0.0, -math.sin(tilt)],
            ]
        )

    def to_camera(self, points: Points) -> Points:
        """World points to camera coordinates (right, down, depth)."""
        result: Points = (points - self.centre) @ self.axes().T
        return result

    def to_pixels(self, camera_points: Points) -> NDArray[np.float64]:
        """Camera points (depth > 0) to (N, 2) pixel coordinates."""
        f = self.focal_px
        depth = camera_points[:, 2]
        u = self.width / 2 + f * camera_points[:, 0] / depth
        v = self.height / 2 + f * camera_points[:, 1] / depth
        return np.stack([u, v], axis=1)

    def project_polygon(self, points: Points) -> NDArray[np.float64] | None:
        """A planar world polygon as pixel coordinates, cut at the near plane; None if behind."""
        camera_points = self.to_camera(points)
        depth = camera_points[:, 2]
        if depth.min() >= NEAR_PLANE_M:
            return self.to_pixels(camera_points)
        if depth.max() < NEAR_PLANE_M:
            return None
        return self.to_pixels(_clip_near(camera_points))


def _clip_near(camera_points: Points) -> Points:
    """Sutherland-Hodgman clip of a polygon against the plane depth = NEAR_PLANE_M."""
    kept: list[NDArray[np.float64]] = []
    count = len(camera_points)
    for index in range(count):
        current = camera_points[index]
        following = camera_points[(index + 1) % count]
        current_in = current[2] >= NEAR_PLANE_M
        following_in = following[2] >= NEAR_PLANE_M
        if current_in:
            kept.append(current)
        if current_in != following_in:
            fraction = (NEAR_PLANE_M - current[2]) / (following[2] - current[2])
            kept.append(current + fraction * (following - current))
    return np.array(kept)


@dataclass(frozen=True)
class Cuboid:
    """An axis-aligned box in world coordinates."""

    x0: float
    x1: float
    y0: float
    y1: float
    z0: float
    z1: float

    def faces_towards(self, eye: NDArray[np.float64]) -> list[tuple[str, Points]]:
        """The faces an eye at ``eye`` can see (at most three), as named quads."""
        x0, x1, y0, y1, z0, z1 = self.x0, self.x1, self.y0, self.y1, self.z0, self.z1
        faces: list[tuple[str, Points]] = []
        if eye[0] > x1:
            faces.append(
                ("end", np.array([[x1, y0, z0], [x1, y1, z0], [x1, y1, z1], [x1, y0, z1]]))
            )
        elif eye[0] < x0:
            faces.append(
                ("back", np.array([[x0, y0, z0], [x0, y1, z0], [x0, y1, z1], [x0, y0, z1]]))
            )
        if eye[1] > y1:
            faces.append(
                ("side", np.array([[x0, y1, z0], [x1, y1, z0], [x1, y1, z1], [x0, y1, z1]]))
            )
        elif eye[1] < y0:
            faces.append(
                ("side", np.array([[x0, y0, z0], [x1, y0, z0], [x1, y0, z1], [x0, y0, z1]]))
            )
        if eye[2] > z1:
            faces.append(
                ("top", np.array([[x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]]))
            )
        return faces


def quad_on_end(x: float, y_centre: float, half_width: float, z0: float, z1: float) -> Points:
    """A rectangle on a plane facing +x (the end of a vehicle the cameras see).

    Corners in image order for a camera looking along -x: top-left, top-right,
    bottom-right, bottom-left (image left is smaller ``y``).
    """
    return np.array(
        [
            [x, y_centre - half_width, z1],
            [x, y_centre + half_width, z1],
            [x, y_centre + half_width, z0],
            [x, y_centre - half_width, z0],
        ]
    )


def bounding_box(
    pixels: NDArray[np.float64], width: int, height: int
) -> tuple[int, int, int, int] | None:
    """Integer (x, y, w, h) covering ``pixels``, clipped to the frame; None if outside."""
    left = max(math.floor(float(pixels[:, 0].min())), 0)
    top = max(math.floor(float(pixels[:, 1].min())), 0)
    right = min(math.ceil(float(pixels[:, 0].max())), width)
    bottom = min(math.ceil(float(pixels[:, 1].max())), height)
    if right <= left or bottom <= top:
        return None
    return left, top, right - left, bottom - top


def geo_offset(
    origin: tuple[float, float], bearing_deg: float, distance_m: float
) -> tuple[float, float]:
    """Latitude and longitude ``distance_m`` from ``origin`` along a bearing (flat earth)."""
    metres_per_degree = 111_320.0
    lat0, lon0 = origin
    bearing = math.radians(bearing_deg)
    lat = lat0 + distance_m * math.cos(bearing) / metres_per_degree
    lon = lon0 + distance_m * math.sin(bearing) / (metres_per_degree * math.cos(math.radians(lat0)))
    return round(lat, 7), round(lon, 7)
