"""Synthetic plate crops for training the plate recogniser, as a camera would see them.

Two sources, both generated here and seeded (no photo is ever used):

- Pakistani plates from the simulator's own designs and renderer
  (:func:`safecity.sim.plates.generate_plate`, :func:`safecity.sim.plate_render.draw_plate`
  and its dirt/wear/glare), with province words, year tags, emblems and colours;
- generic plates of other layouts (one and two lines, words above and below the number,
  separators, borders, light and dark fields) drawn with Pillow in fonts from Debian's
  font packages (fonts-dejavu-core, fonts-liberation, fonts-urw-base35, fonts-noto-mono).

Each plate is then pasted with a perspective warp on a cluttered background, cropped as
a text detector would box it (loose, tight, edges clipped a little), shrunk to a plate
height of 12-48 px, blurred, darkened or unevenly lit, given glare, sensor noise and JPEG
artefacts, and finally resized to the model input. The label is the registration only:
letters and digits, a two-line plate upper line first; words and year tags are not part
of it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PilImage
from PIL import ImageDraw, ImageFont

from safecity.sim.plate_render import draw_plate, weather_plate
from safecity.sim.plates import generate_plate
from safecity.sim.scene import PlateLook

Image = npt.NDArray[np.uint8]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
LETTERS = ALPHABET[:26]
DIGITS = ALPHABET[26:]
INPUT_HEIGHT = 48
INPUT_WIDTH = 128
SLOTS = 10

_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerifCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSansNarrow-Bold.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSans-Bold.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Bold.otf",
    "/usr/share/fonts/opentype/urw-base35/URWGothic-Demi.otf",
    "/usr/share/fonts/truetype/noto/NotoSansMono-Bold.ttf",
)
_VEHICLE_CLASSES = ("car", "car", "car", "van", "bus", "truck", "motorcycle", "rickshaw")
_WORDS = (
    "CALIFORNIA",
    "TEXAS",
    "NEW YORK",
    "FLORIDA",
    "OHIO",
    "ILLINOIS",
    "NEVADA",
    "ARIZONA",
    "BRASIL",
    "SAO PAULO",
    "RIO DE JANEIRO",
    "MINAS GERAIS",
    "PARANA",
    "KARACHI",
    "LAHORE",
    "QUETTA",
    "GILGIT",
    "AJK",
    "BALOCHISTAN",
    "PAKISTAN",
    "GOVT",
    "TAXI",
    "SUNSHINE STATE",
    "Land of Lincoln",
    "The Lone Star State",
    "dmv.gov",
    "EMPIRE STATE",
    "Grand Canyon State",
)


@dataclass(frozen=True)
class Sample:
    image: Image
    """Grey, INPUT_HEIGHT x INPUT_WIDTH."""
    text: str


@functools.cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def available_fonts() -> tuple[str, ...]:
    return tuple(path for path in _FONT_FILES if Path(path).is_file())


def _choice(rng: np.random.Generator, items: tuple[str, ...] | str) -> str:
    return items[int(rng.integers(0, len(items)))]


def _random_registration(rng: np.random.Generator) -> tuple[str, str]:
    """(upper, lower) parts of a generic registration; lower may be empty (one line)."""
    kind = int(rng.integers(0, 6))

    def letters(count: int) -> str:
        return "".join(_choice(rng, LETTERS) for _ in range(count))

    def digits(count: int) -> str:
        return "".join(_choice(rng, DIGITS) for _ in range(count))

    if kind == 0:  # Brazil old / many: LLL DDDD
        return letters(3), digits(4)
    if kind == 1:  # Mercosul LLL D L DD
        return letters(3), digits(1) + letters(1) + digits(2)
    if kind == 2:  # US style 1LLL234
        return digits(1) + letters(3), digits(3)
    if kind == 3:  # letters then digits of random lengths
        return letters(int(rng.integers(1, 5))), digits(int(rng.integers(2, 5)))
    if kind == 4:  # digits then letters
        return digits(int(rng.integers(2, 5))), letters(int(rng.integers(1, 4)))
    # any mix, 5-8 characters
    length = int(rng.integers(5, 9))
    text = "".join(_choice(rng, ALPHABET) for _ in range(length))
    cut = int(rng.integers(1, length))
    return text[:cut], text[cut:]


def _colour(
    rng: np.random.Generator, base: tuple[int, int, int], spread: int
) -> tuple[int, int, int]:
    blue, green, red = (int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)
    return blue, green, red


def generic_plate(rng: np.random.Generator) -> tuple[Image, str]:
    """A plate of another country's layout, in a random font: (BGR image, registration)."""
    upper, lower = _random_registration(rng)
    two_line = rng.random() < 0.2
    fields = (
        ((235, 235, 235), (20, 20, 20)),
        ((240, 240, 240), (120, 40, 20)),  # dark blue ink
        ((40, 200, 240), (20, 20, 20)),  # yellow field
        ((200, 200, 200), (25, 25, 25)),  # grey (Brazil old)
        ((25, 25, 25), (230, 230, 230)),  # dark field
        ((60, 110, 30), (240, 240, 240)),  # green field
        ((150, 60, 20), (240, 240, 240)),  # blue field
    )
    field, ink = fields[int(rng.choice(len(fields), p=[0.4, 0.12, 0.12, 0.12, 0.1, 0.07, 0.07]))]
    field, ink = _colour(rng, field, 12), _colour(rng, ink, 12)
    width = 440
    height = int(width / (rng.uniform(1.5, 2.1) if two_line else rng.uniform(2.0, 4.6)))
    canvas = PilImage.new("RGB", (width, height), field[::-1])
    draw = ImageDraw.Draw(canvas)
    font_path = _choice(rng, available_fonts())
    has_top = rng.random() < 0.6
    has_bottom = rng.random() < 0.45
    top = int(height * (0.22 if has_top else 0.08))
    bottom = height - int(height * (0.2 if has_bottom else 0.08))
    separator = _choice(rng, ("", "", " ", "-", " ", "·"))
    rows = [upper, lower] if two_line else [upper + separator + lower]
    row_height = (bottom - top) / len(rows)
    for index, row in enumerate(rows):
        _draw_fitted(
            draw,
            row,
            font_path,
            (
                int(width * 0.06),
                int(top + index * row_height),
                int(width * 0.94),
                int(top + (index + 1) * row_height),
            ),
            ink,
            rng,
        )
    word_font = _choice(rng, available_fonts())
    if has_top:
        _draw_fitted(
            draw,
            _choice(rng, _WORDS),
            word_font,
            (int(width * 0.2), 2, int(width * 0.8), top - 2),
            ink,
            rng,
            fill=0.9,
        )
    if has_bottom:
        _draw_fitted(
            draw,
            _choice(rng, _WORDS),
            word_font,
            (int(width * 0.15), bottom + 2, int(width * 0.85), height - 3),
            ink,
            rng,
            fill=0.9,
        )
    if rng.random() < 0.7:
        inset = int(rng.integers(1, 6))
        draw.rectangle(
            (inset, inset, width - inset, height - inset),
            outline=ink[::-1],
            width=int(rng.integers(1, 5)),
        )
    bgr = np.asarray(cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR), np.uint8)
    if rng.random() < 0.4:  # small sticker or bolt heads in a corner
        cx = int(rng.choice([rng.integers(10, 50), rng.integers(width - 50, width - 10)]))
        cy = int(rng.integers(5, max(6, height // 3)))
        cv2.circle(bgr, (cx, cy), int(rng.integers(3, 9)), _colour(rng, (120, 120, 120), 100), -1)
    return bgr, upper + lower


def _draw_fitted(
    draw: ImageDraw.ImageDraw,
    text: str,
    font_path: str,
    box: tuple[int, int, int, int],
    ink: tuple[int, ...],
    rng: np.random.Generator,
    fill: float = 1.0,
) -> None:
    """Draw ``text`` as large as fits ``box`` (x0, y0, x1, y1), centred."""
    x0, y0, x1, y1 = box
    if x1 - x0 < 4 or y1 - y0 < 4:
        return
    size = max(4, int((y1 - y0) * 1.25 * fill))
    font = _font(font_path, size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    scale = min((x1 - x0) / max(1, right - left), (y1 - y0) / max(1, bottom - top), 1.0)
    if scale < 1.0:
        size = max(4, int(size * scale))
        font = _font(font_path, size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = x0 + ((x1 - x0) - (right - left)) // 2 - left
    y = y0 + ((y1 - y0) - (bottom - top)) // 2 - top
    jitter = int(rng.integers(-2, 3))
    draw.text((x + jitter, y), text, font=font, fill=ink[::-1])


def pakistani_plate(rng: np.random.Generator) -> tuple[Image, str]:
    """The simulator's design and renderer, with its own dirt, wear and glare."""
    design = generate_plate(rng, _choice(rng, _VEHICLE_CLASSES))  # type: ignore[arg-type]
    look = PlateLook(
        dirt=float(rng.uniform(0, 0.8)) if rng.random() < 0.5 else 0.0,
        wear=float(rng.uniform(0, 0.7)) if rng.random() < 0.5 else 0.0,
        glare=float(rng.uniform(0, 0.5)) if rng.random() < 0.25 else 0.0,
        motion_blur=0.0,
    )
    image = weather_plate(draw_plate(design), look, rng)
    return image, design.registration


def _background(rng: np.random.Generator, height: int, width: int) -> Image:
    """A vehicle-ish surround: a body colour, gradients, bars and edges (bumper, grille)."""
    base = rng.integers(0, 256, size=3)
    image = np.empty((height, width, 3), np.float32)
    image[:] = base
    ramp = np.linspace(-1, 1, height, dtype=np.float32)[:, None, None]
    image += ramp * float(rng.uniform(-60, 60))
    for _ in range(int(rng.integers(0, 6))):
        colour = rng.integers(0, 256, size=3).tolist()
        y = int(rng.integers(0, height))
        thickness = int(rng.integers(1, max(2, height // 8)))
        cv2.line(image, (0, y), (width, y + int(rng.integers(-9, 10))), colour, thickness)
    for _ in range(int(rng.integers(0, 4))):
        colour = rng.integers(0, 256, size=3).tolist()
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        cv2.rectangle(
            image,
            (x, y),
            (x + int(rng.integers(5, width // 3)), y + int(rng.integers(5, height // 3))),
            colour,
            -1,
        )
    if rng.random() < 0.3:  # stray text near the plate (dealer frame, bumper stickers)
        text = "".join(_choice(rng, ALPHABET) for _ in range(int(rng.integers(2, 8))))
        cv2.putText(
            image,
            text,
            (int(rng.integers(0, width // 2)), int(rng.integers(10, height))),
            cv2.FONT_HERSHEY_SIMPLEX,
            float(rng.uniform(0.4, 1.2)),
            rng.integers(0, 256, size=3).tolist(),
            int(rng.integers(1, 3)),
        )
    return np.clip(image, 0, 255).astype(np.uint8)


def camera_view(plate: Image, rng: np.random.Generator) -> Image:
    """The plate as a camera and a text detector's box deliver it, resized to the input."""
    ph, pw = plate.shape[:2]
    # Plate height in the final camera image, pixels.
    target_h = float(np.exp(rng.uniform(np.log(12), np.log(48))))
    scale = target_h / ph
    # Work at about twice the final resolution, then shrink: the shrink adds the aliasing
    # and softness of a small plate.
    work = min(1.0, 2.5 * scale)
    plate = np.asarray(
        cv2.resize(
            plate, (max(8, int(pw * work)), max(6, int(ph * work))), interpolation=cv2.INTER_AREA
        ),
        np.uint8,
    )
    ph, pw = plate.shape[:2]
    margin_x, margin_y = int(pw * 0.35) + 4, int(ph * 0.7) + 4
    canvas = _background(rng, ph + 2 * margin_y, pw + 2 * margin_x)
    # Perspective: rotation, shear, and corner jitter.
    angle = np.deg2rad(rng.normal(0, 4.0))
    shear = rng.normal(0, 0.08)
    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32) - [pw / 2, ph / 2]
    corners[:, 0] += shear * corners[:, 1]
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = corners @ rotation.T.astype(np.float32)
    squeeze = rng.uniform(-0.12, 0.12)  # one side further away than the other
    corners[[0, 3], 1] *= 1 + squeeze
    corners[[1, 2], 1] *= 1 - squeeze
    corners += rng.normal(0, 0.025, size=(4, 2)).astype(np.float32) * [pw, ph]
    corners += [margin_x + pw / 2, margin_y + ph / 2]
    source = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    cv2.warpPerspective(
        plate,
        matrix,
        (canvas.shape[1], canvas.shape[0]),
        dst=canvas,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_TRANSPARENT,
    )
    # The box a detector would give: around the plate's corners, loose or tight.
    x0, y0 = corners.min(axis=0)
    x1, y1 = corners.max(axis=0)
    bw, bh = x1 - x0, y1 - y0
    left = x0 - bw * rng.uniform(-0.04, 0.18)
    right = x1 + bw * rng.uniform(-0.04, 0.18)
    top = y0 - bh * rng.uniform(-0.08, 0.3)
    bottom = y1 + bh * rng.uniform(-0.08, 0.3)
    left, top = max(0, int(left)), max(0, int(top))
    right = min(canvas.shape[1], int(np.ceil(right)))
    bottom = min(canvas.shape[0], int(np.ceil(bottom)))
    crop = canvas[top:bottom, left:right]
    # Down to camera resolution.
    shrink = scale / work
    small = np.asarray(
        cv2.resize(
            crop,
            (max(4, round(crop.shape[1] * shrink)), max(4, round(crop.shape[0] * shrink))),
            interpolation=cv2.INTER_AREA,
        ),
        np.uint8,
    )
    small = _degrade(small, rng)
    grey = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), np.uint8)
    return to_input(grey)


def _degrade(image: Image, rng: np.random.Generator) -> Image:
    """Blur, light, glare, noise and compression, each with some probability."""
    out = image.astype(np.float32)
    height, width = out.shape[:2]
    if rng.random() < 0.5:
        sigma = float(rng.uniform(0.3, 1.0))
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), sigma), np.float32)
    if rng.random() < 0.25:  # motion blur along a random direction
        size = int(rng.integers(2, 5)) | 1
        kernel = np.zeros((size, size), np.float32)
        angle = rng.uniform(0, np.pi)
        half = size // 2
        dx, dy = np.cos(angle) * half, np.sin(angle) * half
        cv2.line(
            kernel,
            (round(half - dx), round(half - dy)),
            (round(half + dx), round(half + dy)),
            1.0,
            1,
        )
        out = np.asarray(cv2.filter2D(out, -1, kernel / kernel.sum()), np.float32)
    # Light: overall gain, gamma (night), and an uneven gradient.
    gain = float(np.exp(rng.normal(0, 0.22)))
    if rng.random() < 0.2:
        gain *= float(rng.uniform(0.3, 0.6))  # night
    out = out * gain
    if rng.random() < 0.4:
        ramp = np.linspace(float(rng.uniform(0.4, 1.0)), float(rng.uniform(0.9, 1.4)), width)
        if rng.random() < 0.5:
            ramp = ramp[::-1]
        out = out * ramp[None, :, None].astype(np.float32)
    if rng.random() < 0.15:  # glare: a bright blob
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        spread = rng.uniform(0.1, 0.4) * width
        glow = np.exp(-(((xs - cx) ** 2 + (ys - cy) ** 2) / spread**2))
        out = out + (glow * rng.uniform(40, 160))[..., None]
    if rng.random() < 0.3:  # haze: lower contrast
        amount = rng.uniform(0.15, 0.45)
        out = out * (1 - amount) + out.mean() * amount
    out = out + rng.normal(0, rng.uniform(0, 10), size=out.shape).astype(np.float32)
    result = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        quality = int(rng.integers(15, 90))
        ok, buffer = cv2.imencode(".jpg", result, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            result = np.asarray(cv2.imdecode(buffer, cv2.IMREAD_COLOR), np.uint8)
    return result


def to_input(grey: Image) -> Image:
    """Resize a grey crop to the model input (stretched, as the reader does)."""
    resized = cv2.resize(grey, (INPUT_WIDTH, INPUT_HEIGHT), interpolation=cv2.INTER_LINEAR)
    return np.asarray(resized, np.uint8)


def sample(rng: np.random.Generator, pakistani_share: float = 0.6) -> Sample:
    if rng.random() < pakistani_share:
        plate, text = pakistani_plate(rng)
    else:
        plate, text = generic_plate(rng)
    return Sample(camera_view(plate, rng), text)


def encode(text: str) -> npt.NDArray[np.int64]:
    """Slot labels: the characters' indices then the pad class (len(ALPHABET))."""
    if len(text) > SLOTS:
        raise ValueError(f"registration longer than {SLOTS} characters: {text!r}")
    labels = np.full(SLOTS, len(ALPHABET), np.int64)
    for index, char in enumerate(text):
        labels[index] = ALPHABET.index(char)
    return labels


def generate_chunk(seed: int, count: int, path: Path) -> None:
    """``count`` samples from ``seed``, saved as one compressed ``.npz``."""
    rng = np.random.default_rng(seed)
    images = np.empty((count, INPUT_HEIGHT, INPUT_WIDTH), np.uint8)
    labels = np.empty((count, SLOTS), np.int64)
    for index in range(count):
        item = sample(rng)
        images[index] = item.image
        labels[index] = encode(item.text)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=images, labels=labels)
