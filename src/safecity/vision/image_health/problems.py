"""The names of what can be wrong with a picture, shared by the config and the checks."""

from __future__ import annotations

from enum import StrEnum


class ImageProblem(StrEnum):
    """What can be wrong with a camera's picture."""

    FROZEN = "frozen"
    BLACK = "black"
    OVEREXPOSED = "overexposed"
    COVERED = "covered"
    DEFOCUSED = "defocused"
    MOVED = "moved"


class Direction(StrEnum):
    """Whether a larger score means a worse picture or a better one."""

    HIGHER_IS_WORSE = "higher_is_worse"
    LOWER_IS_WORSE = "lower_is_worse"
