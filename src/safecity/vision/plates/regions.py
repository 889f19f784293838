"""Plate-like regions from image cues alone, for plates too small for the text detector.

A plate is a compact rectangle, wider than tall, brighter (white and yellow
plates) or darker (black and green plates) than what surrounds it, with strong
edges inside it (the characters). A morphological top-hat (bright) and
black-hat (dark) with a kernel larger than a small plate keeps objects of about
that size; thresholded, their blobs are kept when the size, aspect ratio,
fill of their bounding box and edge density inside fit a plate. Headlights and
road markings are uniform inside and fail the edge test. They are only
proposals: the reader enlarges each one and runs the text detector on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

Grey = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class RegionCues:
    """Plate-like blob limits, in pixels of the image searched."""

    min_height: int = 10
    max_height: int = 70
    min_aspect: float = 1.0
    max_aspect: float = 6.0
    min_fill: float = 0.55
    min_edge_density: float = 0.12
    kernel: tuple[int, int] = (61, 31)


def plate_regions(
    bgr: npt.NDArray[np.uint8], cues: RegionCues | None = None, limit: int = 3
) -> list[tuple[int, int, int, int]]:
    """Up to ``limit`` boxes (x, y, w, h) that may hold a small plate, most likely first."""
    cues = cues or RegionCues()
    grey = cast(Grey, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, cues.kernel)
    edges = cv2.Canny(grey, 60, 160)
    found: list[tuple[float, tuple[int, int, int, int]]] = []
    for operation in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
        emphasised = cv2.morphologyEx(grey, operation, kernel)
        _, mask = cv2.threshold(emphasised, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        mask = cv2.morphologyEx(
            mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 3))
        )
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if not cues.min_height <= h <= cues.max_height:
                continue
            if not cues.min_aspect <= w / h <= cues.max_aspect:
                continue
            fill = cv2.contourArea(contour) / float(w * h)
            if fill < cues.min_fill:
                continue
            density = float(np.count_nonzero(edges[y : y + h, x : x + w])) / float(w * h)
            if density < cues.min_edge_density:
                continue
            found.append((density * fill, (int(x), int(y), int(w), int(h))))
    found.sort(key=lambda item: -item[0])
    return [box for _, box in found[:limit]]
