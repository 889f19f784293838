"""The ``--out`` option every training script's ``export`` takes.

An export once wrote straight over the weights the package ships; it now writes into the
script's work folder under build/ unless the package's models folder is named.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_out_option(export: argparse.ArgumentParser, work: Path, package_models: str) -> None:
    """``--out`` on ``export``: ``work``/export by default; ``package_models`` (the
    package's models folder, relative to the checkout) replaces the shipped weights."""
    export.add_argument(
        "--out",
        default=str(work / "export"),
        help=f"folder to write into; {package_models} replaces the shipped weights "
        "(default: %(default)s)",
    )
