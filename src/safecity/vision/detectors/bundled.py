"""Detector models shipped inside the package (``models/``), found like an operator's.

Today one: ``sim-vehicles``, trained on the simulator's own renders so that the demo's
simulated cameras have a detector that sees their vehicles. It is not for real footage
(see models/MODEL_CARD.md).
"""

from __future__ import annotations

from pathlib import Path

BUNDLED_MODELS_DIR = Path(__file__).resolve().parent / "models"
"""A models folder (``<name>.yaml`` manifests beside their files), as analytics_models_dir."""

SIM_VEHICLES = "sim-vehicles"
"""Manifest name of the simulated-vehicle detector in BUNDLED_MODELS_DIR."""
