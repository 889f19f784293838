"""The analytics worker's plate reader: the locator setting, the locator first unless told."""

from __future__ import annotations

import pytest

from safecity.analytics.main import _parser, plate_reader
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
