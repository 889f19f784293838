"""The analytics worker's plate reader: the locator setting, off unless asked for."""

from __future__ import annotations

import pytest

from safecity.analytics.main import _parser, plate_reader
from safecity.vision.plates import PlateReader


def test_the_worker_reads_plates_without_the_locator_by_default() -> None:
    reader, fuse = plate_reader()
    assert isinstance(reader, PlateReader)
    assert fuse is not None
    assert reader.locator == "off"
    assert _parser().parse_args(["--media-root", "media"]).plate_locator == "off"


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
