"""Rules: pure state machines fed (time, tracked detections) that return rule firings.

One object per configured rule and camera; ``update`` is called with every
analysed frame in time order and returns what fired on that frame. They keep
per-track state and forget tracks that have not been seen for a while.
"""

from safecity.vision.rules.base import ClassFilter, Firing, Rule
from safecity.vision.rules.crossing import LineCrossing, WrongWay
from safecity.vision.rules.stationary import ObjectLeft, StoppedVehicle
from safecity.vision.rules.zone import Crowd, Loitering, ZoneIntrusion

__all__ = [
    "ClassFilter",
    "Crowd",
    "Firing",
    "LineCrossing",
    "Loitering",
    "ObjectLeft",
    "Rule",
    "StoppedVehicle",
    "WrongWay",
    "ZoneIntrusion",
]
