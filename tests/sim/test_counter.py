"""The burned-in frame counter reads back from the frame, scaled copies and video."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from safecity.sim.counter import DATA_BITS, burn_counter, counter_bits, read_counter


@pytest.mark.parametrize(("width", "height"), [(640, 360), (1280, 720), (1920, 1080), (854, 480)])
@pytest.mark.parametrize("number", [0, 1, 7, 255, 1000, 65535, 2**DATA_BITS - 1])
def test_round_trip(width: int, height: int, number: int) -> None:
    frame = np.full((height, width, 3), 128, np.uint8)
    burn_counter(frame, number)
    assert read_counter(frame) == number


def test_reads_a_scaled_blurred_copy() -> None:
    frame = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    burn_counter(frame, 123_456)
    small = cv2.resize(frame, (800, 450), interpolation=cv2.INTER_AREA)
    blurred = np.asarray(cv2.GaussianBlur(small, (5, 5), 1.2), dtype=np.uint8)
    assert read_counter(blurred) == 123_456
    grey = np.asarray(cv2.cvtColor(blurred, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    assert read_counter(grey) == 123_456


def test_a_frame_without_a_counter_reads_as_none() -> None:
    assert read_counter(np.zeros((360, 640, 3), np.uint8)) is None
    assert read_counter(np.full((360, 640, 3), 255, np.uint8)) is None


def test_a_flipped_bit_fails_the_parity_check() -> None:
    frame = np.zeros((360, 640, 3), np.uint8)
    burn_counter(frame, 5)
    bits = counter_bits(5)
    flipped = len(bits) - 4  # the last data bit, a 1 for 5
    block = 360 / 45
    left = round((1 + flipped) * block)
    frame[round(block) : round(2 * block), left : round(left + block)] ^= 255
    assert read_counter(frame) is None


def test_numbers_beyond_the_bits_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        counter_bits(2**DATA_BITS)
