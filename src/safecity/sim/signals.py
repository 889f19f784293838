"""Fixed-time traffic signals and the lighting timeline (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from safecity.sim.truth import Lighting, SignalState


@dataclass(frozen=True)
class SignalPlan:
    """A fixed-time plan: green, amber, red, repeating; ``offset_s`` is when a green starts."""

    green_s: float
    amber_s: float
    red_s: float
    offset_s: float

    @property
    def cycle_s(self) -> float:
        return self.green_s + self.amber_s + self.red_s

    def state_at(self, time_s: float) -> SignalState:
        into = (time_s - self.offset_s) % self.cycle_s
        if into < self.green_s:
            return "green"
        if into < self.green_s + self.amber_s:
            return "amber"
        return "red"

    def phases(self, start_s: float, end_s: float) -> list[tuple[SignalState, float, float]]:
        """Phases overlapping ``[start_s, end_s)``, clipped to it."""
        first_cycle = math.floor((start_s - self.offset_s) / self.cycle_s)
        result: list[tuple[SignalState, float, float]] = []
        cycle = first_cycle
        while True:
            green_at = self.offset_s + cycle * self.cycle_s
            if green_at >= end_s:
                return result
            bounds: list[tuple[SignalState, float, float]] = [
                ("green", green_at, green_at + self.green_s),
                ("amber", green_at + self.green_s, green_at + self.green_s + self.amber_s),
                ("red", green_at + self.green_s + self.amber_s, green_at + self.cycle_s),
            ]
            for state, lo, hi in bounds:
                if hi > start_s and lo < end_s:
                    result.append((state, max(lo, start_s), min(hi, end_s)))
            cycle += 1

    def red_intervals(self, start_s: float, end_s: float) -> list[tuple[float, float]]:
        return [(lo, hi) for state, lo, hi in self.phases(start_s, end_s) if state == "red"]

    def margin_inside(self, time_s: float, state: SignalState) -> float:
        """How far ``time_s`` lies inside a phase of ``state`` (negative: not in that state)."""
        if self.state_at(time_s) != state:
            return -1.0
        into = (time_s - self.offset_s) % self.cycle_s
        starts = {"green": 0.0, "amber": self.green_s, "red": self.green_s + self.amber_s}
        ends = {
            "green": self.green_s,
            "amber": self.green_s + self.amber_s,
            "red": self.cycle_s,
        }
        return min(into - starts[state], ends[state] - into)


# Light reaching the scene, 1 = full daylight; dusk and night are lit by the sky
# glow, street lamps and headlights drawn separately.
LIGHT_LEVEL: dict[Lighting, float] = {"day": 1.0, "dusk": 0.55, "night": 0.22}
_FADE_S = 1.0
"""Seconds over which the light level eases between periods."""


@dataclass(frozen=True)
class LightingTimeline:
    """Lighting periods covering the render, in order, without gaps."""

    periods: tuple[tuple[Lighting, float, float], ...]

    @classmethod
    def build(cls, mode: Lighting | None, duration_s: float) -> LightingTimeline:
        """One condition throughout, or (``mode=None``) day, dusk, then night.

        The compressed evening gives a single render plates under all three
        conditions; half the time is day, a quarter each dusk and night.
        """
        if mode is not None:
            return cls(((mode, 0.0, duration_s),))
        return cls(
            (
                ("day", 0.0, duration_s * 0.5),
                ("dusk", duration_s * 0.5, duration_s * 0.75),
                ("night", duration_s * 0.75, duration_s),
            )
        )

    def condition_at(self, time_s: float) -> Lighting:
        for condition, _start, end in self.periods:
            if time_s < end:
                return condition
        return self.periods[-1][0]

    def blend_at(self, time_s: float) -> tuple[Lighting, Lighting, float]:
        """The two conditions mixed at ``time_s`` and the weight of the second (0..1)."""
        for (before, _s, boundary), (after, _s2, _e2) in zip(
            self.periods, self.periods[1:], strict=False
        ):
            if abs(time_s - boundary) < _FADE_S / 2:
                return before, after, (time_s - boundary) / _FADE_S + 0.5
        current = self.condition_at(time_s)
        return current, current, 0.0

    def level_at(self, time_s: float) -> float:
        before, after, weight = self.blend_at(time_s)
        return LIGHT_LEVEL[before] * (1.0 - weight) + LIGHT_LEVEL[after] * weight
