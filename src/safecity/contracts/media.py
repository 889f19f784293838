"""Pointers to files in the media folder that travel inside bus messages.

Workers write snapshots, plate crops and recordings under the media root and
publish only the relative path; the control plane serves them after its own
permission check. A path that could climb out of the media root is refused at
the contract, so no consumer has to remember to check it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def _inside_media_root(value: str) -> str:
    parts = value.split("/")
    if value.startswith("/") or "\\" in value or any(p in {"", ".", ".."} for p in parts):
        raise ValueError("must be a relative path inside the media root, '/'-separated")
    return value


MediaPath = Annotated[
    str,
    Field(min_length=1, max_length=400, description="File path relative to the media root."),
    AfterValidator(_inside_media_root),
]
