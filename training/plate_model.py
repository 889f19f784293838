"""The plate recogniser network: a small CNN with one softmax per character slot.

Why fixed slots rather than a CRNN with CTC over text lines: the network sees the whole
plate and emits the registration directly, so a two-line plate is read in one pass in
the right order (upper line, then lower), and printed words and year tags, which are not
part of the number, are simply never emitted; it needs no line detector of its own and
no decoding beyond an argmax per slot, and its cost is one fixed-size forward pass.
"""

from __future__ import annotations

import torch
from torch import nn

from training.plate_synth import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, SLOTS

CLASSES = len(ALPHABET) + 1
"""A-Z, 0-9, then the pad class of an empty slot."""


def _block(inputs: int, outputs: int) -> list[nn.Module]:
    return [
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    ]


class PlateRecogniser(nn.Module):
    """Grey plate image (N, 1, 48, 128) uint8-as-float in 0..255 -> (N, SLOTS, CLASSES)
    probabilities (the softmax is part of the exported graph)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            # 48x128 -> 24x64
            nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
            *_block(16, 32),
            nn.MaxPool2d(2),  # 12x32
            *_block(32, 48),
            *_block(48, 48),
            nn.MaxPool2d(2),  # 6x16
            *_block(48, 80),
            *_block(80, 80),
            nn.MaxPool2d(2),  # 3x8
            nn.Conv2d(80, 48, 1, bias=False),
            nn.BatchNorm2d(48),
            nn.ReLU(inplace=True),
        )
        flat = 48 * (INPUT_HEIGHT // 16) * (INPUT_WIDTH // 16)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(flat, 192),
            nn.ReLU(inplace=True),
            nn.Linear(192, SLOTS * CLASSES),
        )

    def logits(self, grey: torch.Tensor) -> torch.Tensor:
        x = grey * (1.0 / 127.5) - 1.0
        return self.head(self.features(x)).view(-1, SLOTS, CLASSES)

    def forward(self, grey: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(grey), dim=-1)
