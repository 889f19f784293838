"""The plate locator network: a stride-8 centre heatmap with four corners per cell.

Why this shape: a vehicle region may show no plate (hidden, turned away, a detector's
false box) or more than one (the car behind); a centre heatmap handles none and many
alike, where a single corner regression would always answer with one plate. Corners
rather than a box: the plate's own quadrilateral is what the recogniser is cut from,
and it costs four numbers more. Stride 8 on a 128-pixel square is a 16x16 grid: plates
are 3-20 input pixels high, so one cell holds one plate centre.
"""

from __future__ import annotations

import torch
from torch import nn

STRIDE = 8
CORNER_SCALE = 16.0
"""Corner offsets are learnt divided by this (input pixels), so targets are about unit size."""


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class PlateLocatorNet(nn.Module):
    """Grey 0-255 (B, 1, 128, 128) in; heat logits (B, 1, 16, 16) and corner offsets
    (B, 8, 16, 16) from each cell's centre, divided by CORNER_SCALE."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv(1, 16, 2), _conv(16, 24, 2), _conv(24, 24))
        self.down8 = nn.Sequential(_conv(24, 40, 2), _conv(40, 40))
        self.down16 = nn.Sequential(_conv(40, 64, 2), _conv(64, 64), _conv(64, 64))
        self.lateral16 = nn.Conv2d(64, 40, 1)
        self.merge8 = _conv(40, 48)
        self.head = _conv(48, 48)
        self.heat = nn.Conv2d(48, 1, 1)
        self.corners = nn.Conv2d(48, 8, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        nn.init.constant_(self.heat.bias, -4.0)  # rare positives at the start

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = pixels / 127.5 - 1.0
        c8 = self.down8(self.stem(x))
        c16 = self.down16(c8)
        features = self.head(self.merge8(c8 + self.up(self.lateral16(c16))))
        return self.heat(features), self.corners(features)


class ExportedLocator(nn.Module):
    """The graph shipped: heat as probabilities, corners in input pixels from cell centres."""

    def __init__(self, model: PlateLocatorNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        heat, corners = self.model(pixels)
        return torch.sigmoid(heat), corners * CORNER_SCALE
