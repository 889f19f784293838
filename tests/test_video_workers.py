"""Which models folder the analytics workers of ``safecity up`` and the demo are given."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import ValidationError

from safecity.core.settings import Settings
from safecity.video_workers import analytics_worker_argv
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR

BUS = "nats://127.0.0.1:4222"


def _models_dir(argv: list[str]) -> Path | None:
    if "--models-dir" not in argv:
        return None
    return Path(argv[argv.index("--models-dir") + 1])


def test_the_demo_gives_its_workers_the_bundled_models(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, analytics_models_dir=None)
    argv = analytics_worker_argv(settings, BUS, default_models_dir=BUNDLED_MODELS_DIR)
    assert _models_dir(argv) == BUNDLED_MODELS_DIR
    # Outside the demo no folder is invented: cameras track motion.
    assert _models_dir(analytics_worker_argv(settings, BUS)) is None


def test_an_operators_models_folder_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, analytics_models_dir=tmp_path / "models")
    argv = analytics_worker_argv(settings, BUS, default_models_dir=BUNDLED_MODELS_DIR)
    assert _models_dir(argv) == tmp_path / "models"


def test_the_plate_locator_setting_reaches_the_workers(tmp_path: Path) -> None:
    choices: tuple[Literal["off", "first", "only"], ...] = ("off", "first", "only")
    for choice in choices:
        settings = Settings(data_dir=tmp_path, analytics_plate_locator=choice)
        argv = analytics_worker_argv(settings, BUS)
        assert argv[argv.index("--plate-locator") + 1] == choice
    with pytest.raises(ValidationError, match="analytics_plate_locator"):
        Settings.model_validate({"data_dir": tmp_path, "analytics_plate_locator": "sometimes"})
