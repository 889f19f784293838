"""The machine-readable frame counter burned into the top-left corner of every frame.

A row of square blocks, white for 1 and black for 0: the guard ``101``, the
frame number in ``DATA_BITS`` bits (most significant first), an even-parity
bit, and the guard ``01``, on a black strip. Block edges are placed at
``round(i * height / BLOCKS_PER_HEIGHT)``, so the layout scales with the frame:
a reader needs only the frame (or a uniformly scaled copy of it) to find the
blocks. Blocks are 8 pixels at 360 lines and 16 at 720, on the H.264
macroblock grid, so compression leaves them crisp.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

DATA_BITS = 20
"""Enough for 19 hours at 15 frames per second."""
BLOCKS_PER_HEIGHT = 45
_START = (1, 0, 1)
_END = (0, 1)
_FIRST_BLOCK = 1
"""Blocks of margin between the frame edge and the pattern, left and top."""
PATTERN_BLOCKS = len(_START) + DATA_BITS + 1 + len(_END)


def pattern_description() -> str:
    return f"101 + {DATA_BITS} data bits (MSB first) + even parity + 01"


def counter_bits(frame_number: int) -> list[int]:
    """The block values for ``frame_number``, left to right."""
    if not 0 <= frame_number < 2**DATA_BITS:
        raise ValueError(f"frame number {frame_number} does not fit in {DATA_BITS} bits")
    data = [(frame_number >> shift) & 1 for shift in range(DATA_BITS - 1, -1, -1)]
    return [*_START, *data, sum(data) % 2, *_END]


def _edges(height: int, count: int) -> list[int]:
    block = height / BLOCKS_PER_HEIGHT
    return [round(index * block) for index in range(count + 1)]


def strip_extent(width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the black strip behind the blocks, one block of border."""
    edges = _edges(height, _FIRST_BLOCK + PATTERN_BLOCKS + 2)
    x1 = min(edges[_FIRST_BLOCK + PATTERN_BLOCKS + 1], width)
    return 0, 0, x1, edges[_FIRST_BLOCK + 2]


def overlay_extent(width: int, height: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the top band the on-screen display may cover: the counter strip,
    the frame number and the camera label (which drops below the strip on a narrow
    frame). Conservative: twice the strip's height, the whole width."""
    _, _, _, bottom = strip_extent(width, height)
    return 0, 0, width, min(2 * bottom, height)


def burn_counter(frame: NDArray[np.uint8], frame_number: int) -> None:
    """Draw the counter for ``frame_number`` into ``frame`` (H, W, 3), in place."""
    height, width = frame.shape[:2]
    x0, y0, x1, y1 = strip_extent(width, height)
    frame[y0:y1, x0:x1] = 0
    edges = _edges(height, _FIRST_BLOCK + PATTERN_BLOCKS + 1)
    top, bottom = edges[_FIRST_BLOCK], edges[_FIRST_BLOCK + 1]
    for index, bit in enumerate(counter_bits(frame_number)):
        if bit:
            left, right = edges[_FIRST_BLOCK + index], edges[_FIRST_BLOCK + index + 1]
            frame[top:bottom, left:right] = 255


def read_counter(frame: NDArray[np.uint8]) -> int | None:
    """The frame number burned into ``frame`` (grey or colour), or None if no valid pattern.

    Samples the middle half of every block, so mild blur or scaling does not matter;
    the guards and the parity bit reject frames without a counter.
    """
    grey = frame if frame.ndim == 2 else frame.mean(axis=2)
    height = grey.shape[0]
    block = height / BLOCKS_PER_HEIGHT
    row = (_FIRST_BLOCK + 0.25) * block, (_FIRST_BLOCK + 0.75) * block
    bits: list[int] = []
    for index in range(PATTERN_BLOCKS):
        left = (_FIRST_BLOCK + index + 0.25) * block
        right = (_FIRST_BLOCK + index + 0.75) * block
        patch = grey[
            round(row[0]) : max(round(row[1]), round(row[0]) + 1),
            round(left) : max(round(right), round(left) + 1),
        ]
        if patch.size == 0:
            return None
        bits.append(1 if float(patch.mean()) >= 128.0 else 0)
    start, data = bits[: len(_START)], bits[len(_START) : len(_START) + DATA_BITS]
    parity, end = bits[len(_START) + DATA_BITS], bits[len(_START) + DATA_BITS + 1 :]
    if tuple(start) != _START or tuple(end) != _END or sum(data) % 2 != parity:
        return None
    value = 0
    for bit in data:
        value = (value << 1) | bit
    return value
