"""Travel-time estimates behind one small interface, so that a road-network router
(OSRM, Valhalla, a pgRouting graph) can replace the straight-line estimate by
implementing ``TravelEstimator`` and being handed to ``DispatchService``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Leg:
    """How far, and how long, from one origin to the destination."""

    distance_m: float
    seconds: float


class TravelEstimator(Protocol):
    def estimate(self, origins: Sequence[tuple[Point, float]], destination: Point) -> list[Leg]:
        """One leg per origin (a position and the unit's average speed in km/h), same order."""
        ...


def haversine_m(a: Point, b: Point) -> float:
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class StraightLineEstimator:
    """Great-circle distance times a road factor, at the unit's average speed.

    1.4 is the usual detour index of city road networks (measured road length over
    straight-line length); it only ranks units until a real road network is configured.
    """

    road_factor: float = 1.4

    def estimate(self, origins: Sequence[tuple[Point, float]], destination: Point) -> list[Leg]:
        legs = []
        for origin, speed_kmh in origins:
            distance = haversine_m(origin, destination)
            seconds = distance * self.road_factor / (speed_kmh * 1000 / 3600)
            legs.append(Leg(distance_m=distance, seconds=seconds))
        return legs
