"""A tiny one-scale anchor-free vehicle detector (stride 8) with a small top-down neck.

Each cell of the stride-8 grid predicts six class scores and its distances to the
four sides of a box (FCOS style). The exported graph decodes the distances into
centre/size boxes in input pixels and applies the sigmoid, giving the YOLOv8 output
layout (1, 4 + C, N) that safecity's onnx_yolo backend already reads.
"""

from __future__ import annotations

import torch
from torch import nn

STRIDE = 8
MAX_LOG_DISTANCE = 6.0
"""exp(6) * 8 px is far beyond any box in a 384x224 input: keeps exp finite early on."""


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SimVehicleDetector(nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes
        self.stem = nn.Sequential(_conv(3, 16, 2), _conv(16, 24, 2), _conv(24, 24))
        self.down8 = nn.Sequential(_conv(24, 40, 2), _conv(40, 40))
        self.down16 = nn.Sequential(_conv(40, 64, 2), _conv(64, 64))
        self.down32 = nn.Sequential(_conv(64, 96, 2), _conv(96, 96))
        self.lateral32 = nn.Conv2d(96, 64, 1)
        self.merge16 = _conv(64, 64)
        self.lateral16 = nn.Conv2d(64, 40, 1)
        self.merge8 = _conv(40, 48)
        self.head = _conv(48, 48)
        self.class_logits = nn.Conv2d(48, classes, 1)
        self.distances = nn.Conv2d(48, 4, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        # Start with rare positives (focal-loss practice) so early losses are not swamped.
        nn.init.constant_(self.class_logits.bias, -4.6)

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits (B, C, H/8, W/8) and side distances in pixels (B, 4, H/8, W/8)."""
        c8 = self.down8(self.stem(pixels))
        c16 = self.down16(c8)
        c32 = self.down32(c16)
        p16 = self.merge16(c16 + self.up(self.lateral32(c32)))
        p8 = self.merge8(c8 + self.up(self.lateral16(p16)))
        features = self.head(p8)
        log_distance = self.distances(features).clamp(max=MAX_LOG_DISTANCE)
        return self.class_logits(features), torch.exp(log_distance) * STRIDE


def grid_points(height: int, width: int) -> torch.Tensor:
    """Cell centres (N, 2) in input pixels, row-major like the flattened feature map."""
    ys, xs = torch.meshgrid(
        torch.arange(height // STRIDE, dtype=torch.float32),
        torch.arange(width // STRIDE, dtype=torch.float32),
        indexing="ij",
    )
    return (torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1) + 0.5) * STRIDE


class ExportedDetector(nn.Module):
    """Takes RGB 0..1 (1, 3, H, W); returns (1, 4 + C, N): cx, cy, w, h, class scores."""

    def __init__(self, model: SimVehicleDetector, height: int, width: int) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("points", grid_points(height, width).T.contiguous())

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        logits, distances = self.model(pixels)
        batch = pixels.shape[0]
        logits = logits.reshape(batch, self.model.classes, -1)
        left, top, right, bottom = distances.reshape(batch, 4, -1).unbind(1)
        points: torch.Tensor = self.points
        cx = points[0] + (right - left) / 2
        cy = points[1] + (bottom - top) / 2
        boxes = torch.stack([cx, cy, left + right, top + bottom], dim=1)
        return torch.cat([boxes, torch.sigmoid(logits)], dim=1)
