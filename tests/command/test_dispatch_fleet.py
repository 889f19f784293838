"""The demo fleet drives units through the real API: patrols, answers the simulated
dispatcher's incidents and closes them, and drives to a person's dispatch and waits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from safecity.command.units_seed import SeededDistrict
from safecity.sim.fleet import Fleet, FleetConfig, Route, SimUnit, distance_m, step_towards
from safecity.web.platform import Platform
from tests.command.dispatch_support import ROSTER, Desk
from tests.factories import World


@pytest.mark.parametrize(
    ("start", "target", "metres", "expected"),
    [
        ((34.0, 71.5), (34.0, 71.5), 100.0, (34.0, 71.5)),
        ((34.0, 71.5), (34.001, 71.5), 1000.0, (34.001, 71.5)),  # overshoot stops on target
        ((34.0, 71.5), (34.002, 71.5), 111.2, (34.001, 71.5)),  # half way
    ],
)
def test_step_towards(
    start: tuple[float, float],
    target: tuple[float, float],
    metres: float,
    expected: tuple[float, float],
) -> None:
    got = step_towards(start, target, metres)
    assert distance_m(got, expected) < 1.0


def test_a_route_loops_round_its_points() -> None:
    square = [(34.0, 71.5), (34.001, 71.5), (34.001, 71.501), (34.0, 71.501)]
    route = Route(square)
    perimeter = sum(distance_m(square[i], square[(i + 1) % 4]) for i in range(4))
    end = route.advance(square[0], perimeter + 5)
    assert distance_m(end, square[0]) < 6


def fleet_for(desk: Desk, *, every: int) -> Fleet:
    units = []
    for callsign, _, district, lat, lon in ROSTER:
        if district != "peshawar" or callsign == "PSH-R1":
            continue
        loop = [(lat, lon), (lat + 0.002, lon), (lat + 0.002, lon + 0.002), (lat, lon + 0.002)]
        units.append(
            SimUnit(desk.units[callsign], callsign, desk.tokens[callsign], Route(loop), (lat, lon))
        )
    config = FleetConfig(
        dispatcher_token=desk.tokens["dispatcher"],
        district="peshawar",
        incident_every_ticks=every,
        on_scene_ticks=2,
    )
    return Fleet(desk.client, units, config)


def test_the_fleet_answers_its_own_incidents_and_closes_them(desk: Desk) -> None:
    fleet = fleet_for(desk, every=100)
    before = {u.callsign: u.position for u in fleet.units}
    for _ in range(12):
        fleet.tick(30.0)  # 300 m a tick
    assert fleet.closed, "the simulated incident was never closed"
    incident = desk.call("dispatcher", "GET", f"/api/v1/incidents/{fleet.closed[0]}").json()
    kinds = [e["kind"] for e in incident["timeline"]]
    assert incident["status"] == "closed"
    for step in ("dispatched", "unit_acknowledged", "unit_en_route", "unit_on_scene", "cleared"):
        assert step in kinds, kinds
    units = desk.call("dispatcher", "GET", "/api/v1/units?district=peshawar").json()["items"]
    moved = {
        u["callsign"]
        for u in units
        if u["callsign"] in before
        and distance_m((u["latitude"], u["longitude"]), before[u["callsign"]]) > 50
    }
    assert moved == set(before)
    assert fleet.errors == 0


def test_a_persons_dispatch_is_driven_to_the_scene_and_left_open(desk: Desk) -> None:
    fleet = fleet_for(desk, every=10_000)
    fleet.tick(1.0)  # out of quarters (and the fleet opens its first call)
    incident = desk.new_incident(latitude=34.02, longitude=71.56)
    sent = desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/incidents/{incident['id']}/dispatch",
        json={"unit_id": desk.units["PSH-M2"]},
    )
    assert sent.status_code == 200
    for _ in range(25):  # about 4.7 km at 300 m a tick
        fleet.tick(30.0)
    state = desk.call("dispatcher", "GET", f"/api/v1/incidents/{incident['id']}").json()
    assert state["status"] == "on_scene"
    assert state["unit_ids"] == [desk.units["PSH-M2"]]
    unit = desk.call("dispatcher", "GET", f"/api/v1/units/{desk.units['PSH-M2']}").json()
    assert distance_m((unit["latitude"], unit["longitude"]), (34.02, 71.56)) < 1
    assert incident["id"] not in fleet.closed


def test_the_demo_roster_seeds_once_and_its_tokens_drive_the_fleet(
    platform: Platform, world: World, client: TestClient
) -> None:
    from safecity.command.units_seed import seed_demo_fleet
    from safecity.identity.system import system_principal

    def seed() -> list[SeededDistrict]:
        with platform.transaction() as session:
            return seed_demo_fleet(
                session, platform.identity, platform.units, system_principal("tests")
            )

    first, again = seed(), seed()  # a restarted demo keeps its roster
    assert [d.slug for d in first] == ["bannu", "peshawar"]
    assert [u.unit_id for d in first for u in d.units] == [
        u.unit_id for d in again for u in d.units
    ]
    peshawar = first[1]
    fleet = Fleet(
        client,
        [
            SimUnit(u.unit_id, u.callsign, u.token, Route(u.route), u.route[0])
            for u in peshawar.units
        ],
        FleetConfig(dispatcher_token=peshawar.dispatcher_token, district="peshawar"),
    )
    fleet.tick(3.0)
    assert fleet.errors == 0
    assert fleet.opened  # the simulated dispatcher took its first call
