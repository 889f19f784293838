"""The analytics worker's plate reader: the locator setting, the locator first unless told;
the plate format rules chosen by setting, and a bad choice refused at start."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from safecity.analytics.main import _parser, plate_reader, plate_rules, worker_plate_reader
from safecity.core.settings import Settings
from safecity.sim.plate_render import draw_plate
from safecity.sim.plates import generate_plate
from safecity.video_workers import analytics_problems, analytics_worker_argv
from safecity.vision.plates import PlateReader


def test_the_worker_locates_plates_first_by_default() -> None:
    args = _parser().parse_args(["--media-root", "media"])
    assert args.plate_locator == "first"
    reader, fuse = plate_reader(args.plate_threads, args.plate_locator)
    assert isinstance(reader, PlateReader)
    assert fuse is not None
    assert reader.locator == "first"


@pytest.mark.parametrize("use", ["first", "only"])
def test_the_locator_is_chosen_by_setting(use: str) -> None:
    args = _parser().parse_args(["--media-root", "media", "--plate-locator", use])
    reader, _ = plate_reader(args.plate_threads, args.plate_locator)
    assert isinstance(reader, PlateReader)
    assert reader.locator == use


def test_an_unknown_locator_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="locator"):
        plate_reader(1, "sometimes")  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        _parser().parse_args(["--media-root", "media", "--plate-locator", "sometimes"])


# -- the plate format rules: settings -> worker command line -> the worker's reader -----------

DIGITS_ONLY = """\
sets:
  digits:
    description: a deployment whose registrations are digits only
    rules:
      - name: digits
        pattern: D{6,7}
    generic: {enabled: false}
"""


@pytest.fixture(scope="module")
def plate_photo() -> tuple[npt.NDArray[np.uint8], str]:
    """A simulator plate (Pakistani, letters and digits) on a grey 400x300 picture."""
    design = generate_plate(np.random.default_rng(21), "car")
    plate = draw_plate(design)
    scale = 44 / plate.shape[0]
    small = cv2.resize(plate, (round(plate.shape[1] * scale), 44), interpolation=cv2.INTER_AREA)
    canvas = np.full((300, 400, 3), 80, np.uint8)
    canvas[120 : 120 + small.shape[0], 70 : 70 + small.shape[1]] = small
    return canvas, design.registration


def _worker_reader(settings: Settings) -> PlateReader:
    """The plate reader a worker started by ``safecity up`` with ``settings`` builds."""
    argv = analytics_worker_argv(settings, "nats://127.0.0.1:4222")
    args = _parser().parse_args(argv[3:])  # after: python -m safecity.analytics
    reader, _ = worker_plate_reader(args, plate_rules(args.plate_rules, args.plate_rules_file))
    assert isinstance(reader, PlateReader)
    return reader


def test_a_configured_rule_set_changes_which_texts_the_workers_accept(
    tmp_path: Path, plate_photo: tuple[npt.NDArray[np.uint8], str]
) -> None:
    image, registration = plate_photo
    default = _worker_reader(Settings(data_dir=tmp_path))
    assert default.rules.name == "pk"
    assert [read.text for read in default.read(image)][:1] == [registration]
    assert (
        _worker_reader(Settings(data_dir=tmp_path, analytics_plate_rules="us")).rules.name == "us"
    )
    catalogue = tmp_path / "rules.yaml"
    catalogue.write_text(DIGITS_ONLY)
    digits = _worker_reader(
        Settings(
            data_dir=tmp_path,
            analytics_plate_rules="digits",
            analytics_plate_rules_file=catalogue,
        )
    )
    assert digits.rules.name == "digits"
    # The same letters-and-digits plate is no registration of the digits-only set.
    assert registration not in [read.text for read in digits.read(image)]


def test_an_unknown_rule_set_or_a_bad_rules_file_refuses_the_start(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("sets:\n  digits:\n    rules:\n      - name: d\n        pattern: Q{3}\n")
    cases = [
        (Settings(data_dir=tmp_path, analytics_plate_rules="xx"), "no rule set 'xx'; known:"),
        (
            Settings(data_dir=tmp_path, analytics_plate_rules_file=tmp_path / "missing.yaml"),
            "missing.yaml: cannot read",
        ),
        (
            Settings(
                data_dir=tmp_path, analytics_plate_rules="digits", analytics_plate_rules_file=bad
            ),
            "rules.yaml:5",
        ),
    ]
    for settings, reason in cases:
        (problem,) = analytics_problems(settings)
        assert reason in problem
        # The worker process itself refuses too, before it connects to the bus (nothing
        # listens on port 9) or takes a camera.
        worker = subprocess.run(
            analytics_worker_argv(settings, "nats://127.0.0.1:9"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert worker.returncode == 2, worker.stderr
        assert "plate format rules: " in worker.stderr
        assert reason in worker.stderr
    assert analytics_problems(Settings(data_dir=tmp_path, analytics_plate_rules="br")) == []


# -- unsmearing: on unless set off, and nothing to unsmear without the locator -------------


def test_unsmearing_is_on_unless_set_off_and_reaches_the_worker_reader(tmp_path: Path) -> None:
    assert _worker_reader(Settings(data_dir=tmp_path)).unsmear
    assert not _worker_reader(Settings(data_dir=tmp_path, analytics_plate_unsmear=False)).unsmear


def test_unsmearing_is_left_out_with_the_locator_off(tmp_path: Path) -> None:
    """The locator finds the plates to unsmear: with it off the setting does nothing (and
    does not refuse the start), while a reader asked for both directly refuses."""
    settings = Settings(data_dir=tmp_path, analytics_plate_locator="off")
    assert settings.analytics_plate_unsmear
    assert analytics_problems(settings) == []
    reader = _worker_reader(settings)
    assert reader.locator == "off"
    assert not reader.unsmear
    with pytest.raises(ValueError, match="unsmear needs the plate locator"):
        PlateReader(locator="off", unsmear=True)
