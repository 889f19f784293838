"""Traffic for the corridor: who drives where and when (pure, seeded).

Vehicles arrive as a Poisson stream. Each keeps its lane and speed, so instead
of simulating car-following we place every arrival in time and lane such that
(a) inside every camera's view no two vehicles in a lane come closer than a
safe gap, (b) a law-abiding vehicle crosses every stop line on green, stopping
at the line (or behind the queue already there) when it arrives on amber or red
and moving off in turn once the light is green, and
(c) a red-light runner crosses one stop line well inside a red phase that lies
within the render (so the violation is on video). Arrivals that cannot be
placed are dropped. Pedestrians cross at the zebra of a junction during red
for traffic, clear of any vehicle that passes then.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from safecity.sim.plates import generate_plate
from safecity.sim.scene import (
    LANE_COUNT,
    ROAD_WIDTH_M,
    ZEBRA_M,
    CameraSite,
    CityOptions,
    Pedestrian,
    PlateLook,
    Vehicle,
    Wait,
    lane_centre,
)
from safecity.sim.signals import SignalPlan
from safecity.sim.truth import SignalState
from safecity.sim.vehicles import BODY_COLOURS, CLOTHES, MODELS, TRUCK_ART, VehicleModel

SAFE_GAP_M = 2.5
GREEN_MARGIN_S = 0.4
RED_MARGIN_S = 0.8
RED_RUNNER_SHARE = 0.08
_ATTEMPTS = 12
# Motorcycles and rickshaws hug the kerb, heavy vehicles keep left, cars spread out.
_LANE_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "car": (0.25, 0.4, 0.35),
    "van": (0.4, 0.4, 0.2),
    "bus": (0.6, 0.4, 0.0),
    "truck": (0.7, 0.3, 0.0),
    "rickshaw": (0.8, 0.2, 0.0),
    "motorcycle": (0.7, 0.3, 0.0),
}
_WRONG_WAY_SHARE = {"motorcycle": 0.15, "rickshaw": 0.12, "car": 0.04}
# Queues at a red light: the first vehicle halts just before the stop line, each
# next one this far behind the one ahead; on green they move off one by one.
STOP_BEFORE_LINE_M = 0.5
QUEUE_GAP_M = 3.0
START_DELAY_S = 1.0
HEADWAY_S = 1.6

# A queue: (junction index, lane, start of the green it waits for) -> where the back
# of its last vehicle stands.
Queues = dict[tuple[int, int, float], list[float]]


def _windows(cameras: tuple[CameraSite, ...]) -> list[tuple[float, float]]:
    """Corridor intervals where a vehicle may be in view of a camera."""
    return [
        (site.rig.position_m - site.rig.far_ground_m - 1.0, site.rig.position_m) for site in cameras
    ]


def _conflict(a: Vehicle, b: Vehicle, windows: list[tuple[float, float]]) -> bool:
    """True when the bodies come within SAFE_GAP_M of each other inside a camera window.

    Body ends move linearly, so the gap ``b ahead of a`` (or ``a ahead of b``) is
    linear in time: one ordering must hold with the gap at both ends of the shared
    interval; switching order means passing through each other.
    """
    for low, high in windows:
        a0, a1 = a.interval_in(low, high)
        b0, b1 = b.interval_in(low, high)
        start, end = max(a0, b0), min(a1, b1)
        if start >= end:
            continue
        ahead_b = ahead_a = True
        # The gap is linear between halts: check it where either starts or ends one.
        turns = [t for w in a.waits + b.waits for t in (w.from_s, w.until_s) if start < t < end]
        for time_s in (start, end, *turns):
            a_low, a_high = a.span_at(time_s)
            b_low, b_high = b.span_at(time_s)
            ahead_b &= b_low - a_high >= SAFE_GAP_M
            ahead_a &= a_low - b_high >= SAFE_GAP_M
        if not (ahead_a or ahead_b):
            return True
    return False


def _obeys_signals(vehicle: Vehicle, cameras: tuple[CameraSite, ...], runs_at: int | None) -> bool:
    if vehicle.direction < 0:
        return True
    for index, site in enumerate(cameras):
        if site.signal is None or site.stop_line_m is None:
            continue
        crossing = vehicle.time_front_at(site.stop_line_m)
        wanted: SignalState = "red" if index == runs_at else "green"
        margin = RED_MARGIN_S if wanted == "red" else GREEN_MARGIN_S
        if site.signal.margin_inside(crossing, wanted) < margin:
            return False
    return True


def _next_green(plan: SignalPlan, time_s: float) -> float:
    """Start of the first green at or after ``time_s``."""
    cycles = np.ceil((time_s - plan.offset_s) / plan.cycle_s)
    return float(plan.offset_s + cycles * plan.cycle_s)


def _queue_at_reds(
    vehicle: Vehicle, cameras: tuple[CameraSite, ...], queues: Queues
) -> tuple[Vehicle, list[tuple[tuple[int, int, float], float]]] | None:
    """The vehicle halting at each stop line it would reach off green, behind the queue
    there; with where it joins each queue. None when it cannot be made to wait properly."""
    joined: list[tuple[tuple[int, int, float], float]] = []
    order = sorted(
        (i for i, site in enumerate(cameras) if site.signal and site.stop_line_m is not None),
        key=lambda i: cameras[i].stop_line_m or 0.0,
    )
    for index in order:
        site = cameras[index]
        plan, line = site.signal, site.stop_line_m
        if plan is None or line is None:
            continue  # not a junction (the order above holds junctions only)
        crossing = vehicle.time_front_at(line)
        if plan.margin_inside(crossing, "green") >= GREEN_MARGIN_S:
            continue
        green_at = _next_green(plan, crossing - GREEN_MARGIN_S)
        key = (index, vehicle.lane, green_at)
        queue = queues.get(key, [])
        position = queue[-1] - QUEUE_GAP_M if queue else line - STOP_BEFORE_LINE_M
        arrives = vehicle.time_front_at(position)
        leaves = green_at + START_DELAY_S + len(queue) * HEADWAY_S
        if arrives >= leaves - 0.3 or arrives < vehicle.anchor_s:
            return None
        vehicle = replace(vehicle, waits=(*vehicle.waits, Wait(position, arrives, leaves)))
        joined.append((key, position - vehicle.model.length))
    return vehicle, joined


def _visible_during(
    vehicle: Vehicle, windows: list[tuple[float, float]], duration_s: float
) -> bool:
    for low, high in windows:
        start, end = vehicle.interval_in(low, high)
        if start < duration_s and end > 0.0:
            return True
    return False


def _red_crossing(
    rng: np.random.Generator, cameras: tuple[CameraSite, ...], duration_s: float
) -> tuple[int, float] | None:
    """A junction and a time well inside one of its red phases within the render."""
    choices: list[tuple[int, float, float]] = []
    for index, site in enumerate(cameras):
        if site.signal is None:
            continue
        for low, high in site.signal.red_intervals(0.0, duration_s):
            if high - low > 2 * RED_MARGIN_S + 0.2:
                choices.append((index, low + RED_MARGIN_S + 0.1, high - RED_MARGIN_S - 0.1))
    if not choices:
        return None
    index, low, high = choices[int(rng.integers(0, len(choices)))]
    return index, float(rng.uniform(low, high))


def _pick_class(rng: np.random.Generator) -> VehicleModel:
    models = list(MODELS.values())
    shares = np.array([model.share for model in models])
    return models[int(rng.choice(len(models), p=shares / shares.sum()))]


def _new_vehicle(rng: np.random.Generator, key: int, taken: set[str]) -> Vehicle:
    """A law-abiding vehicle's identity and look; lane and timing are placeholders."""
    model = _pick_class(rng)
    plate = generate_plate(rng, model.vehicle_class)
    while plate.registration in taken:
        plate = generate_plate(rng, model.vehicle_class)
    colour = model.colours[int(rng.integers(0, len(model.colours)))]
    return Vehicle(
        key=key,
        model=model,
        plate=plate,
        colour=colour,
        body=BODY_COLOURS[colour],
        art=tuple(TRUCK_ART[int(i)] for i in rng.permutation(len(TRUCK_ART))),
        speed_m_s=float(rng.uniform(*model.speed_kmh)) / 3.6,
        lane=1,
        lateral_m=lane_centre(1),
        direction=1,
        anchor_m=0.0,
        anchor_s=0.0,
        ran_red_light=False,
        headlights=rng.random() < 0.9,
        look=PlateLook(
            dirt=round(float(rng.beta(0.8, 3.0)), 3),
            wear=round(float(rng.beta(0.8, 3.0)), 3),
            glare=0.0 if rng.random() < 0.6 else round(float(rng.uniform(0.3, 1.0)), 3),
            # Most cameras expose for a small part of the frame interval; a few smear.
            motion_blur=round(float(rng.beta(1.0, 8.0)), 3),
        ),
        texture_seed=int(rng.integers(0, 2**31)),
    )


def _place(rng: np.random.Generator, vehicle: Vehicle, anchor_m: float, anchor_s: float) -> Vehicle:
    """The vehicle in a random lane allowed for its class, with its leading end at
    ``anchor_m`` at ``anchor_s``."""
    kind = vehicle.model.vehicle_class
    if vehicle.direction < 0:
        lane = 1 + int(rng.integers(0, 2))
    else:
        weights = np.array(_LANE_WEIGHTS[kind][:LANE_COUNT])
        lane = 1 + int(rng.choice(LANE_COUNT, p=weights / weights.sum()))
    spread = 0.8 if kind == "motorcycle" else 0.35
    return replace(
        vehicle,
        lane=lane,
        lateral_m=lane_centre(lane) + float(rng.uniform(-spread, spread)),
        anchor_m=anchor_m,
        anchor_s=anchor_s,
    )


def schedule_vehicles(options: CityOptions, cameras: tuple[CameraSite, ...]) -> tuple[Vehicle, ...]:
    arrivals = np.random.default_rng([options.seed, 1])
    windows = _windows(cameras)
    entry_m = windows[0][0] - 20.0
    exit_m = cameras[-1].rig.position_m + 20.0
    slowest_m_s = 20.0 / 3.6
    time_s = -(exit_m - entry_m) / slowest_m_s
    accepted: list[Vehicle] = []
    taken: set[str] = set()
    queues: Queues = {}
    key = 0
    while True:
        time_s += float(arrivals.exponential(60.0 / options.vehicles_per_minute))
        if time_s > options.duration_s:
            break
        key += 1
        rng = np.random.default_rng([options.seed, 2, key])
        roll_wrong_way, roll_red = rng.random(), rng.random()
        kind_rng = np.random.default_rng([options.seed, 3, key])
        template = _new_vehicle(kind_rng, key, taken)
        wrong_way = roll_wrong_way < _WRONG_WAY_SHARE.get(template.model.vehicle_class, 0.0)
        red = None
        if not wrong_way and roll_red < RED_RUNNER_SHARE:
            red = _red_crossing(rng, cameras, options.duration_s)
        template = replace(
            template, direction=-1 if wrong_way else 1, ran_red_light=red is not None
        )
        for attempt in range(_ATTEMPTS):
            if red is not None:
                runs_at: int | None = red[0]
                anchor_m = cameras[red[0]].stop_line_m or 0.0
                anchor_s = red[1] + (float(rng.uniform(-0.4, 0.4)) if attempt else 0.0)
            else:
                runs_at, anchor_m = None, exit_m if wrong_way else entry_m
                anchor_s = time_s + (float(rng.uniform(-12.0, 12.0)) if attempt else 0.0)
            candidate = _place(rng, template, anchor_m, anchor_s)
            if not _visible_during(candidate, windows, options.duration_s):
                break
            joined: list[tuple[tuple[int, int, float], float]] = []
            if red is None and not wrong_way and not _obeys_signals(candidate, cameras, None):
                queued = _queue_at_reds(candidate, cameras, queues)
                if queued is None:
                    continue
                candidate, joined = queued
            if not _obeys_signals(candidate, cameras, runs_at):
                continue
            if any(
                other.lane == candidate.lane and _conflict(candidate, other, windows)
                for other in accepted
            ):
                continue
            accepted.append(candidate)
            taken.add(candidate.plate.registration)
            for queue_key, back_m in joined:
                queues.setdefault(queue_key, []).append(back_m)
            break
    return tuple(accepted)


def _pedestrian_clear(walker: Pedestrian, vehicles: tuple[Vehicle, ...]) -> bool:
    """No vehicle body is within reach of the walker while they are on the road."""
    for time_s in np.arange(walker.start_s, walker.end_s, 0.1):
        lateral = walker.lateral_at(float(time_s))
        for vehicle in vehicles:
            low, high = vehicle.span_at(float(time_s))
            if low - 1.0 <= walker.crossing_m <= high + 1.0:
                reach = vehicle.model.parts[0].half_width + 0.8
                if abs(lateral - vehicle.lateral_m) < reach:
                    return False
    return True


def schedule_pedestrians(
    options: CityOptions, cameras: tuple[CameraSite, ...], vehicles: tuple[Vehicle, ...]
) -> tuple[Pedestrian, ...]:
    rng = np.random.default_rng([options.seed, 3])
    walkers: list[Pedestrian] = []
    for index, site in enumerate(cameras):
        plan: SignalPlan | None = site.signal
        if plan is None or site.stop_line_m is None:
            continue
        for low, high in plan.red_intervals(-plan.cycle_s, options.duration_s):
            for _ in range(int(rng.poisson(1.6))):
                towards_median = rng.random() < 0.5
                kerb, median = ROAD_WIDTH_M + 1.2, -0.6
                speed = float(rng.uniform(1.1, 1.6))
                crossing_s = (kerb - median) / speed
                if crossing_s > high - low:
                    continue
                walker = Pedestrian(
                    key=len(walkers) + 1,
                    camera=index,
                    crossing_m=site.stop_line_m
                    + float(rng.uniform(ZEBRA_M[0] + 0.7, ZEBRA_M[1] - 0.7)),
                    from_lateral_m=kerb if towards_median else median,
                    to_lateral_m=median if towards_median else kerb,
                    start_s=float(rng.uniform(low, high - crossing_s)),
                    speed_m_s=speed,
                    clothes=CLOTHES[int(rng.integers(0, len(CLOTHES)))],
                    height_m=float(rng.uniform(1.55, 1.85)),
                )
                if (
                    walker.end_s > 0.0
                    and walker.start_s < options.duration_s
                    and _pedestrian_clear(walker, vehicles)
                ):
                    walkers.append(walker)
    return tuple(walkers)
