"""The plate recogniser network: a small CNN with one softmax per character slot.

Why fixed slots rather than a CRNN with CTC over text lines: the network sees the whole
plate and emits the registration directly, so a two-line plate is read in one pass in
the right order (upper line, then lower), and printed words and year tags, which are not
part of the number, are simply never emitted; it needs no line detector of its own and
no decoding beyond an argmax per slot, and its cost is one fixed-size forward pass.

The layer widths are a parameter (:class:`Widths`): the same layout of layers at any
width, so a wider network can start from a narrower one's weights (:func:`widen_from`);
the widths themselves live in :mod:`training.plate_widths`, which needs no PyTorch.
"""

from __future__ import annotations

import torch
from torch import nn

from training.plate_synth import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, SLOTS
from training.plate_widths import NARROW, Widths

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

    def __init__(self, widths: Widths = NARROW) -> None:
        super().__init__()
        self.widths = widths
        c1, c2, c3, c4, c5 = widths.convs
        self.features = nn.Sequential(
            # 48x128 -> 24x64
            nn.Conv2d(1, widths.stem, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(widths.stem),
            nn.ReLU(inplace=True),
            *_block(widths.stem, c1),
            nn.MaxPool2d(2),  # 12x32
            *_block(c1, c2),
            *_block(c2, c3),
            nn.MaxPool2d(2),  # 6x16
            *_block(c3, c4),
            *_block(c4, c5),
            nn.MaxPool2d(2),  # 3x8
            nn.Conv2d(c5, widths.reduced, 1, bias=False),
            nn.BatchNorm2d(widths.reduced),
            nn.ReLU(inplace=True),
        )
        flat = widths.reduced * (INPUT_HEIGHT // 16) * (INPUT_WIDTH // 16)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(flat, widths.hidden),
            nn.ReLU(inplace=True),
            nn.Linear(widths.hidden, SLOTS * CLASSES),
        )

    def logits(self, grey: torch.Tensor) -> torch.Tensor:
        x = grey * (1.0 / 127.5) - 1.0
        return self.head(self.features(x)).view(-1, SLOTS, CLASSES)

    def forward(self, grey: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(grey), dim=-1)


def widen_from(wide: PlateRecogniser, narrow: PlateRecogniser) -> PlateRecogniser:
    """``wide`` computing exactly what ``narrow`` computes (in eval mode), with room to
    learn more: every layer's first channels (units) take the narrow network's weights,
    the connections from the added channels into the narrow ones are zero, and the added
    channels keep their random initialisation, so they start contributing as soon as
    training moves those zero weights. Starting a wider network this way keeps what the
    narrow one learnt instead of retraining from scratch (Chen et al., Net2Net, 2016,
    function-preserving widening)."""
    old_convs = [m for m in narrow.features if isinstance(m, nn.Conv2d)]
    new_convs = [m for m in wide.features if isinstance(m, nn.Conv2d)]
    old_norms = [m for m in narrow.features if isinstance(m, nn.BatchNorm2d)]
    new_norms = [m for m in wide.features if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for old, new in zip(old_convs, new_convs, strict=True):
            outs, ins = old.weight.shape[:2]
            if new.weight.shape[0] < outs or new.weight.shape[1] < ins:
                raise ValueError("the wide network must be at least as wide in every layer")
            new.weight[:outs, :ins] = old.weight
            new.weight[:outs, ins:] = 0.0
        for old_norm, new_norm in zip(old_norms, new_norms, strict=True):
            channels = old_norm.num_features
            new_norm.weight[:channels] = old_norm.weight
            new_norm.bias[:channels] = old_norm.bias
            if old_norm.running_mean is None or new_norm.running_mean is None:
                raise ValueError("the batch norms must track running statistics")
            if old_norm.running_var is None or new_norm.running_var is None:
                raise ValueError("the batch norms must track running statistics")
            new_norm.running_mean[:channels] = old_norm.running_mean
            new_norm.running_var[:channels] = old_norm.running_var
        old_dense, old_out = narrow.head[2], narrow.head[4]
        new_dense, new_out = wide.head[2], wide.head[4]
        for layer in (old_dense, new_dense, old_out, new_out):
            if not isinstance(layer, nn.Linear):
                raise TypeError(f"head layer {layer} is not the dense layer expected")
        cells = (INPUT_HEIGHT // 16) * (INPUT_WIDTH // 16)
        hidden, reduced = old_dense.out_features, narrow.widths.reduced
        # The flattened features are channel-major: (channel, row, column).
        dense = new_dense.weight.view(new_dense.out_features, -1, cells)
        dense[:hidden, :reduced] = old_dense.weight.view(hidden, reduced, cells)
        dense[:hidden, reduced:] = 0.0
        new_dense.bias[:hidden] = old_dense.bias
        new_out.weight[:, :hidden] = old_out.weight
        new_out.weight[:, hidden:] = 0.0
        new_out.bias.copy_(old_out.bias)
    return wide
