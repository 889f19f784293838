"""A simulated fleet of field units for the demo: each unit patrols a loop of road
points (the demo districts' intersections), reports GPS and status through the
authenticated API with its own token, and answers dispatches by driving to the scene.
A simulated dispatcher opens an incident now and then, dispatches the recommended
unit, and clears and closes what it opened. Incidents a person dispatched are driven
to the scene the same way but left for that person to close.

The fleet reaches the control plane only over HTTP (``sim`` never imports it).
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from safecity.core.clock import utcnow

log = logging.getLogger(__name__)
EARTH_RADIUS_M = 6_371_000.0
LatLon = tuple[float, float]


class Http(Protocol):
    """What the fleet needs of an HTTP client (``httpx.Client``, Starlette's TestClient)."""

    def request(
        self, method: str, url: str, *, headers: dict[str, str], json: Any = None
    ) -> Any: ...


def distance_m(a: LatLon, b: LatLon) -> float:
    """Equirectangular distance: exact enough for the few kilometres a unit drives."""
    x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    y = math.radians(b[0] - a[0])
    return EARTH_RADIUS_M * math.hypot(x, y)


def step_towards(position: LatLon, target: LatLon, metres: float) -> LatLon:
    """``metres`` along the straight line to ``target``, stopping on it."""
    whole = distance_m(position, target)
    if whole <= metres or whole == 0:
        return target
    f = metres / whole
    return (
        position[0] + (target[0] - position[0]) * f,
        position[1] + (target[1] - position[1]) * f,
    )


@dataclass
class Route:
    """A closed loop of road points; ``advance`` moves along it by distance."""

    points: Sequence[LatLon]
    index: int = 0

    def advance(self, position: LatLon, metres: float) -> LatLon:
        if len(self.points) < 2:
            return position
        while metres > 0:
            target = self.points[(self.index + 1) % len(self.points)]
            gap = distance_m(position, target)
            if gap > metres:
                return step_towards(position, target, metres)
            metres -= gap
            position = target
            self.index = (self.index + 1) % len(self.points)
        return position


@dataclass
class SimUnit:
    unit_id: int
    callsign: str
    token: str
    route: Route
    position: LatLon
    speed_mps: float = 10.0
    incident_id: int | None = None
    target: LatLon | None = None
    stage: str = "patrol"  # patrol -> en_route -> on_scene
    on_scene_ticks: int = 0


@dataclass
class FleetConfig:
    dispatcher_token: str
    district: str
    incident_every_ticks: int = 30
    on_scene_ticks: int = 6
    incident_types: Sequence[str] = ("robbery", "theft", "suspicious", "assault")
    seed: int = 15


@dataclass
class Fleet:
    """One tick moves every unit and reports it; the caller decides the pace."""

    http: Http
    units: list[SimUnit]
    config: FleetConfig
    ticks: int = 0
    opened: set[int] = field(default_factory=set)
    closed: list[int] = field(default_factory=list)
    errors: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.config.seed)  # noqa: S311 - simulation

    def _call(self, token: str, method: str, url: str, body: Any = None) -> Any:
        response = self.http.request(
            method, url, headers={"Authorization": f"Bearer {token}"}, json=body
        )
        if response.status_code >= 400:
            self.errors += 1
            log.info("fleet: %s %s answered %s", method, url, response.status_code)
            return None
        return response.json()

    def tick(self, seconds: float) -> None:
        self.ticks += 1
        if self.ticks == 1:
            for unit in self.units:  # out of quarters, on patrol
                url = f"/api/v1/units/{unit.unit_id}/status"
                self._call(unit.token, "POST", url, {"status": "available_mobile"})
        self._follow_dispatches()
        for unit in self.units:
            self._move(unit, seconds)
        if self.ticks % self.config.incident_every_ticks == 1:
            self._open_incident()

    def _follow_dispatches(self) -> None:
        """Units the roster shows as dispatched start driving to their incident."""
        token = self.config.dispatcher_token
        roster = self._call(
            token, "GET", f"/api/v1/units?district={self.config.district}&limit=1000"
        )
        if roster is None:
            return
        by_id = {u.unit_id: u for u in self.units}
        for row in roster["items"]:
            unit = by_id.get(row["id"])
            if unit is None or row["status"] != "dispatched" or unit.stage != "patrol":
                continue
            incident = self._call(token, "GET", f"/api/v1/incidents/{row['incident_id']}")
            if incident is None:
                continue
            unit.incident_id = incident["id"]
            unit.target = (incident["latitude"], incident["longitude"])
            url = f"/api/v1/units/{unit.unit_id}"
            self._call(unit.token, "POST", f"{url}/acknowledge")
            self._call(unit.token, "POST", f"{url}/status", {"status": "en_route"})
            unit.stage = "en_route"

    def _move(self, unit: SimUnit, seconds: float) -> None:
        metres = unit.speed_mps * seconds
        if unit.stage == "patrol":
            unit.position = unit.route.advance(unit.position, metres)
        elif unit.stage == "en_route" and unit.target is not None:
            unit.position = step_towards(unit.position, unit.target, metres)
            if unit.position == unit.target:
                self._call(
                    unit.token,
                    "POST",
                    f"/api/v1/units/{unit.unit_id}/status",
                    {"status": "on_scene"},
                )
                unit.stage, unit.on_scene_ticks = "on_scene", 0
        elif unit.stage == "on_scene":
            unit.on_scene_ticks += 1
            self._finish(unit)
        self._call(
            unit.token,
            "POST",
            f"/api/v1/units/{unit.unit_id}/positions",
            {
                "recorded_at": utcnow().isoformat(),
                "latitude": round(unit.position[0], 6),
                "longitude": round(unit.position[1], 6),
                "speed_kmh": 0.0 if unit.stage == "on_scene" else round(unit.speed_mps * 3.6, 1),
            },
        )

    def _finish(self, unit: SimUnit) -> None:
        """The simulated dispatcher clears and closes its own incidents after a while;
        a person's incident keeps the unit on scene until that person clears it."""
        incident_id = unit.incident_id
        if incident_id is None:
            unit.stage = "patrol"
            return
        token = self.config.dispatcher_token
        if incident_id in self.opened:
            if unit.on_scene_ticks < self.config.on_scene_ticks:
                return
            url = f"/api/v1/incidents/{incident_id}/status"
            self._call(token, "POST", url, {"status": "cleared"})
            self._call(token, "POST", url, {"status": "closed", "disposition": "attended (sim)"})
            self.opened.discard(incident_id)
            self.closed.append(incident_id)
        else:
            state = self._call(token, "GET", f"/api/v1/incidents/{incident_id}")
            if state is None or unit.unit_id in state["unit_ids"]:
                return  # still assigned (or unknown): stay on scene
        unit.stage, unit.incident_id, unit.target = "patrol", None, None

    def _open_incident(self) -> None:
        """A simulated call near a patrol route, dispatched to the recommended unit."""
        if not self.units:
            return
        token = self.config.dispatcher_token
        anchor = self._random.choice(self.units).route.points
        lat, lon = self._random.choice(list(anchor))
        body = {
            "district": self.config.district,
            "type": self._random.choice(list(self.config.incident_types)),
            "latitude": round(lat + self._random.uniform(-0.004, 0.004), 6),
            "longitude": round(lon + self._random.uniform(-0.004, 0.004), 6),
            "landmark": "simulated call",
            "caller_number": f"0300-{self._random.randint(1000000, 9999999)}",
            "narrative": "Simulated Emergency 15 call (demo fleet)",
        }
        incident = self._call(token, "POST", "/api/v1/incidents", body)
        if incident is None:
            return
        self.opened.add(incident["id"])
        ranked = self._call(token, "GET", f"/api/v1/incidents/{incident['id']}/recommendations")
        if ranked and ranked["items"]:
            self._call(
                token,
                "POST",
                f"/api/v1/incidents/{incident['id']}/dispatch",
                {"unit_id": ranked["items"][0]["unit_id"]},
            )


class FleetThread:
    """Runs a fleet every ``every_seconds`` of wall time until stopped."""

    def __init__(self, fleets: Sequence[Fleet], every_seconds: float = 2.0) -> None:
        self.fleets = list(fleets)
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-fleet", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.every_seconds):
            for fleet in self.fleets:
                try:
                    fleet.tick(self.every_seconds)
                except Exception:  # the server is starting or stopping: try next tick
                    log.debug("fleet tick failed", exc_info=True)
