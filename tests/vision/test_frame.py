"""prepare_frame: what it accepts, what it returns, and what it never does to the caller."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from safecity.vision.image_health import AnalysisFrame, InvalidFrame, prepare_frame


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((720, 1280), dtype=np.uint8), r"shape \(height, width, 3\)"),
        (np.zeros((720, 1280, 4), dtype=np.uint8), r"shape \(height, width, 3\)"),
        (np.zeros((720, 1280, 3), dtype=np.float32), "uint8"),
        (np.zeros((720, 1280, 3), dtype=np.uint16), "uint8"),
        (np.zeros((40, 1280, 3), dtype=np.uint8), "at least 64 px"),
        ([[0, 0, 0]], "uint8 numpy array, got list"),
    ],
    ids=["grey", "bgra", "float", "uint16", "too-small", "not-an-array"],
)
def test_refuses_what_is_not_a_bgr_frame(frame: Any, message: str) -> None:
    with pytest.raises(InvalidFrame, match=message):
        prepare_frame(frame, 320)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ((1080, 1920), (180, 320)),
        ((720, 1280), (180, 320)),
        ((576, 704), (262, 320)),  # D1 PAL
        ((240, 320), (240, 320)),  # already the analysis size
        ((120, 160), (240, 320)),  # small sub-streams are enlarged, never refused
    ],
)
def test_reduces_to_the_analysis_width_keeping_aspect(
    source: tuple[int, int], expected: tuple[int, int]
) -> None:
    frame = prepare_frame(np.zeros((*source, 3), dtype=np.uint8), 320)
    assert frame.grey.shape == expected
    assert (frame.source_height, frame.source_width) == source


def test_output_is_read_only_and_the_input_untouched() -> None:
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    before = source.copy()
    frame = prepare_frame(source, 320)
    assert not frame.grey.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        frame.grey[0, 0] = 1
    assert np.array_equal(source, before)


def test_identical_frames_reduce_identically() -> None:
    # The frozen check relies on this: the same picture must give the same pixels.
    rng = np.random.default_rng(1)
    source = rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    first = prepare_frame(source, 320)
    second = prepare_frame(source.copy(), 320)
    assert np.array_equal(first.grey, second.grey)


def test_grey_follows_luminance_weights() -> None:
    # Pure green is brighter than pure blue to the eye, and to the checks.
    blue = prepare_frame(np.full((100, 100, 3), (255, 0, 0), dtype=np.uint8), 64)
    green = prepare_frame(np.full((100, 100, 3), (0, 255, 0), dtype=np.uint8), 64)
    assert int(green.grey[0, 0]) > int(blue.grey[0, 0])


def test_analysis_frame_refuses_a_writable_array() -> None:
    with pytest.raises(InvalidFrame, match="read-only"):
        AnalysisFrame(
            grey=np.zeros((180, 320), dtype=np.uint8), source_width=1280, source_height=720
        )
