"""Plate images: field, band, emblem, Hershey lettering, year tag, then dirt, wear and glare.

A plate is drawn once per vehicle at ``PX_PER_M`` and kept as a small mip
chain, so pasting it at any size in a frame samples a level close to the
on-screen size instead of aliasing a large image.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from safecity.sim.plates import BLACK, WHITE, Colour, PlateDesign, plate_size_m
from safecity.sim.raster import as_image
from safecity.sim.scene import PlateLook

Image = NDArray[np.uint8]
PX_PER_M = 520
_FONT = cv2.FONT_HERSHEY_DUPLEX
_DIRT: Colour = (45, 75, 105)


def _text_mask(text: str, thickness: int) -> Image:
    """White ``text`` on black, cropped tight, at a fixed large scale."""
    scale = 2.0
    (width, height), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    pad = thickness + 2
    canvas = np.zeros((height + baseline + 2 * pad, width + 2 * pad), np.uint8)
    cv2.putText(canvas, text, (pad, pad + height), _FONT, scale, 255, thickness, cv2.LINE_AA)
    rows = np.flatnonzero(canvas.max(axis=1))
    cols = np.flatnonzero(canvas.max(axis=0))
    if rows.size == 0:
        return canvas
    return canvas[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _put_text(
    image: Image, text: str, box: tuple[int, int, int, int], ink: Colour, bold: bool = True
) -> None:
    """Stretch ``text`` into ``box`` (x0, y0, x1, y1), as plate fonts are condensed."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0 or not text.strip():
        return
    mask = _text_mask(text, 7 if bold else 4)
    # Keep glyphs from being stretched wider than they are tall-ish: centre narrower text.
    natural = mask.shape[1] * (y1 - y0) / mask.shape[0]
    width = int(min(x1 - x0, natural * 1.15))
    left = x0 + ((x1 - x0) - width) // 2
    fitted = cv2.resize(mask, (max(width, 1), y1 - y0), interpolation=cv2.INTER_AREA)
    alpha = fitted.astype(np.float32)[..., None] / 255.0
    region = image[y0:y1, left : left + fitted.shape[1]].astype(np.float32)
    blended = region * (1.0 - alpha) + np.array(ink, np.float32) * alpha
    image[y0:y1, left : left + fitted.shape[1]] = blended.astype(np.uint8)


def _emblem(
    image: Image, centre: tuple[int, int], radius: int, colour: Colour, inner: Colour
) -> None:
    """A round seal with a crescent and star: reads as an emblem, not as a character."""
    cv2.circle(image, centre, radius, colour, -1, cv2.LINE_AA)
    cx, cy = centre
    cv2.circle(image, (cx - radius // 6, cy), radius * 2 // 3, inner, -1, cv2.LINE_AA)
    cv2.circle(
        image, (cx + radius // 8, cy - radius // 10), radius * 5 // 9, colour, -1, cv2.LINE_AA
    )
    cv2.circle(
        image, (cx + radius // 2, cy - radius // 4), max(radius // 6, 1), inner, -1, cv2.LINE_AA
    )


def _registration_row(
    image: Image, design: PlateDesign, box: tuple[int, int, int, int], between: str
) -> None:
    """Letters, a gap holding ``between`` (emblem, year tag or hyphen), digits."""
    x0, y0, x1, y1 = box
    letters, digits = len(design.letters), len(design.digits)
    gap_units = 1.4
    unit = (x1 - x0) / (letters + digits + gap_units)
    split = x0 + int(letters * unit)
    resume = x0 + int((letters + gap_units) * unit)
    _put_text(image, design.letters, (x0, y0, split, y1), design.ink)
    _put_text(image, design.digits, (resume, y0, x1, y1), design.ink)
    height = y1 - y0
    middle = (split + resume) // 2
    if between == "emblem":
        _emblem(
            image,
            (middle, (y0 + y1) // 2),
            int(min(unit * 0.55, height * 0.32)),
            design.ink,
            design.field,
        )
    elif between == "year" and design.year_tag:
        _put_text(
            image,
            design.year_tag,
            (split + 3, y0, resume - 3, y0 + height * 2 // 5),
            design.ink,
            bold=False,
        )
    elif between == "hyphen":
        thick = max(height // 12, 2)
        cv2.rectangle(
            image,
            (split + 5, (y0 + y1) // 2 - thick),
            (resume - 5, (y0 + y1) // 2 + thick),
            design.ink,
            -1,
        )


def draw_plate(design: PlateDesign) -> Image:
    """The clean plate as printed (BGR)."""
    width_m, height_m = plate_size_m(design)
    width, height = round(width_m * PX_PER_M), round(height_m * PX_PER_M)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = design.field
    pad = max(height // 16, 3)
    between = (
        "year"
        if design.year is not None
        else ("hyphen" if design.province == "sindh" else "emblem")
    )
    if design.province == "punjab" and design.band is not None:
        if design.layout == "one_line":
            band = width // 5
            image[:, :band] = design.band
            _emblem(image, (band // 2, height * 2 // 5), band // 3, WHITE, design.band)
            _put_text(
                image,
                design.word,
                (pad, height * 3 // 4, band - pad, height - pad),
                WHITE,
                bold=False,
            )
            _registration_row(
                image,
                design,
                (band + pad * 2, height // 6, width - pad * 2, height * 5 // 6),
                "year",
            )
        else:
            band = height // 4
            image[:band, :] = design.band
            _emblem(image, (band, band // 2), band * 2 // 5, WHITE, design.band)
            _put_text(
                image, design.word, (band * 2, pad, width - band * 2, band - pad), WHITE, bold=False
            )
            row_top, row_bottom = band + pad, band + (height - band) // 2 - pad // 2
            split = width * 7 // 10
            _put_text(image, design.letters, (pad * 3, row_top, split, row_bottom), design.ink)
            if design.year_tag:
                year_box = (
                    split + pad,
                    row_top,
                    width - pad * 2,
                    row_top + (row_bottom - row_top) // 2,
                )
                _put_text(image, design.year_tag, year_box, design.ink, bold=False)
            _put_text(
                image,
                design.digits,
                (
                    pad * 3,
                    band + (height - band) // 2 + pad // 2,
                    width - pad * 3,
                    height - pad * 2,
                ),
                design.ink,
            )
    else:
        top = pad * 2
        bottom = height - pad * 2
        word_height = height // 5
        if design.province == "ict":
            _put_text(
                image,
                design.word,
                (width // 4, pad * 2, width * 3 // 4, pad * 2 + word_height),
                design.ink,
                bold=False,
            )
            top += word_height + pad
        else:
            _put_text(
                image,
                design.word,
                (width // 5, height - pad * 2 - word_height, width * 4 // 5, height - pad * 2),
                design.ink,
                bold=False,
            )
            bottom -= word_height + pad
        if design.layout == "one_line":
            left = pad * 2
            if design.province == "ict":
                _emblem(
                    image,
                    (pad * 2 + (bottom - top) // 2, (top + bottom) // 2),
                    (bottom - top) // 2,
                    design.ink,
                    design.field,
                )
                left += bottom - top + pad
            _registration_row(
                image,
                design,
                (left, top, width - pad * 2, bottom),
                "space" if design.province == "ict" else between,
            )
        else:
            middle = (top + bottom) // 2
            _put_text(
                image,
                design.letters,
                (pad * 4, top, width - pad * 4, middle - pad // 2),
                design.ink,
            )
            _put_text(
                image,
                design.digits,
                (pad * 3, middle + pad // 2, width - pad * 3, bottom),
                design.ink,
            )
    border = BLACK if design.field != BLACK else WHITE
    cv2.rectangle(image, (1, 1), (width - 2, height - 2), border, max(height // 40, 2), cv2.LINE_AA)
    return image


def weather_plate(image: Image, look: PlateLook, rng: np.random.Generator) -> Image:
    """Wear (fading, scratches), dirt (soil blotches) and glare (a specular streak)."""
    height, width = image.shape[:2]
    result = image.astype(np.float32)
    if look.wear > 0.05:
        faded = cv2.GaussianBlur(result, (0, 0), 1.0 + 2.0 * look.wear)
        result = result * (1 - 0.5 * look.wear) + faded * (0.5 * look.wear)
        result = result * (1 - 0.35 * look.wear) + result.mean(axis=(0, 1)) * (0.35 * look.wear)
        for _ in range(int(look.wear * 14)):
            start = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            end = (
                start[0] + int(rng.integers(-width // 4, width // 4)),
                start[1] + int(rng.integers(-height // 3, height // 3)),
            )
            cv2.line(result, start, end, (200.0, 200.0, 200.0), 1, cv2.LINE_AA)
    if look.dirt > 0.05:
        coarse = rng.random((6, 16)).astype(np.float32)
        field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        speckle = rng.random((height, width)).astype(np.float32)
        amount = (
            np.clip((field - (1.0 - 0.8 * look.dirt)) * 2.0, 0.0, 0.85)
            + (speckle > 1 - 0.08 * look.dirt) * 0.6
        )
        alpha = np.clip(amount, 0.0, 0.92)[..., None]
        result = result * (1 - alpha) + np.array(_DIRT, np.float32) * alpha
    if look.glare > 0.05:
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        cx, cy = float(rng.uniform(0.2, 0.8)) * width, float(rng.uniform(0.2, 0.8)) * height
        spread_x, spread_y = (
            width * float(rng.uniform(0.15, 0.35)),
            height * float(rng.uniform(0.3, 0.6)),
        )
        glow = np.exp(-(((xs - cx) / spread_x) ** 2 + ((ys - cy) / spread_y) ** 2))
        result = result + (255.0 * 1.3 * look.glare * glow)[..., None]
    return np.clip(result, 0, 255).astype(np.uint8)


def mip_chain(image: Image) -> list[Image]:
    """The image and successively halved copies down to a few pixels wide."""
    levels = [image]
    while levels[-1].shape[1] > 12 and levels[-1].shape[0] > 6:
        levels.append(as_image(cv2.pyrDown(levels[-1])))
    return levels


def plate_images(design: PlateDesign, look: PlateLook, seed: int) -> list[Image]:
    return mip_chain(weather_plate(draw_plate(design), look, np.random.default_rng(seed)))
