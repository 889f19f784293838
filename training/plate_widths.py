"""The plate recogniser's layer widths (:class:`Widths`) and the named architectures.

Apart from the network (:mod:`training.plate_model`) because they need no PyTorch: the
training script's ``--arch`` choices and a checkpoint's recorded widths are read
without it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Widths:
    """Channels of the stem, of the six 3x3 convolutions, of the 1x1 reduction, and
    units of the dense layer."""

    stem: int = 16
    convs: tuple[int, int, int, int, int] = (32, 48, 48, 80, 80)
    reduced: int = 48
    hidden: int = 192

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "convs": list(self.convs)}

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Widths:
        convs = raw["convs"]
        if not isinstance(convs, (list, tuple)) or len(convs) != 5:
            raise ValueError(f"convs must be five widths, got {convs!r}")
        stem, reduced, hidden = raw["stem"], raw["reduced"], raw["hidden"]
        if not (isinstance(stem, int) and isinstance(reduced, int) and isinstance(hidden, int)):
            raise ValueError(f"widths must be integers: {raw!r}")
        a, b, c, d, e = (int(value) for value in convs)
        return cls(stem, (a, b, c, d, e), reduced, hidden)


NARROW = Widths()
"""The network shipped until 2026-12-07 (428,802 parameters)."""
WIDE = Widths(stem=24, convs=(48, 72, 72, 128, 128), reduced=64, hidden=384)
"""1.5 times the convolution channels and twice the dense layer."""
MEDIUM = Widths(stem=16, convs=(32, 64, 64, 112, 112), reduced=64, hidden=384)
"""Wider from the second convolution on (the full-resolution layers cost the most) and
twice the dense layer."""
ARCHITECTURES = {"narrow": NARROW, "medium": MEDIUM, "wide": WIDE}
