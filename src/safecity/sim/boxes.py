"""Per-frame vehicle boxes of a rendered frame, from the simulator's own geometry.

``ground_truth.json`` keeps five boxes per appearance (its plate samples); a detector's
training and evaluation need every vehicle in every frame, which the views a
``CameraRenderer.render`` returns already hold: the bounding box of each vehicle's
projected polygons, clipped to the frame. A vehicle hidden behind a nearer one keeps
its whole box (the simulator does not compute visibility).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from safecity.sim.truth import VehicleClass
from safecity.sim.views import ObjectView


@dataclass(frozen=True)
class VehicleBox:
    vehicle_class: VehicleClass
    x: int
    y: int
    w: int
    h: int

    @property
    def xyxy(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.x + self.w, self.y + self.h


def vehicle_boxes(views: Sequence[ObjectView], *, min_side: int = 2) -> list[VehicleBox]:
    """The vehicles drawn in a frame whose box is at least ``min_side`` pixels each way."""
    found = []
    for shown in views:
        if shown.vehicle is None or shown.box is None:
            continue
        x, y, w, h = shown.box
        if min(w, h) >= min_side:
            found.append(VehicleBox(shown.vehicle.model.vehicle_class, x, y, w, h))
    return found
