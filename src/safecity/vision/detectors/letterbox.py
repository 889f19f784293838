"""Letterboxing: scale a frame into a network's input keeping its aspect, and map boxes back."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed in the network input: ``input = frame * scale + (pad_x, pad_y)``."""

    scale: float
    pad_x: float
    pad_y: float

    def to_frame(
        self, xyxy: npt.NDArray[np.float32], width: int, height: int
    ) -> npt.NDArray[np.float32]:
        """Boxes from network-input pixels back to frame pixels, clipped to the frame."""
        pads = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y], dtype=np.float32)
        boxes = (xyxy - pads) / self.scale
        clipped: npt.NDArray[np.float32] = np.clip(boxes, 0, [width, height, width, height])
        return clipped.astype(np.float32)


def letterbox(
    image: npt.NDArray[np.uint8],
    width: int,
    height: int,
    *,
    centred: bool = True,
    fill: int = 114,
) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """``image`` resized into a ``width`` x ``height`` canvas of grey ``fill``.

    Ultralytics models were trained centred; YOLOX pads only right and bottom.
    """
    source_h, source_w = image.shape[:2]
    scale = min(width / source_w, height / source_h)
    new_w, new_h = max(1, round(source_w * scale)), max(1, round(source_h * scale))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((height, width, 3), fill, dtype=np.uint8)
    pad_x = (width - new_w) // 2 if centred else 0
    pad_y = (height - new_h) // 2 if centred else 0
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    return canvas, Letterbox(scale=scale, pad_x=float(pad_x), pad_y=float(pad_y))
