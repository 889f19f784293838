"""What the PyTorch half of a training script's ``export`` hands back for the manifest.

Each script imports PyTorch only through its ``*_fit`` module, and only when it trains
or exports; the script writes the manifest itself from these records, so the manifests
and where they go are built (and tested) without PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecogniserCheckpoint:
    """What the plate recogniser's manifest records of the checkpoint it was exported from."""

    steps: int
    validation_exact: float
    render_validation_exact: float | None
    """Exact share on the held-out render crops; None for a run trained without them."""


@dataclass(frozen=True)
class LocatorExport:
    """What the plate locator's manifest records of the exported network."""

    steps: int
    stride: int
    """Input pixels per cell of the heat grid."""
