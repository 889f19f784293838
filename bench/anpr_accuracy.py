"""Plate reading accuracy on real photos (../shared/data/anpr) and on simulated video.

The split rule below was committed before any tuning: every photo belongs to
the development half or the test half by the first byte of the SHA-256 of its
file name (even: development, odd: test). Only the development half may be
looked at while improving the reader; the test half is reported, never studied.

Run: .venv/bin/python bench/anpr_accuracy.py --list-split
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SHARED = Path(__file__).resolve().parents[2] / "shared"
PHOTO_SETS = ("us", "br")
Half = Literal["dev", "test"]


@dataclass(frozen=True)
class LabelledPhoto:
    """One photo with its ground truth: plate box and registration (A-Z0-9 only)."""

    path: Path
    box: tuple[int, int, int, int]
    plate: str
    half: Half


def split_half(file_name: str) -> Half:
    """Development or test half, decided by the file name alone (never by content)."""
    first_byte = hashlib.sha256(file_name.encode("utf-8")).digest()[0]
    return "dev" if first_byte % 2 == 0 else "test"


def load_set(folder: Path) -> list[LabelledPhoto]:
    """Every photo of one set with its `.txt` ground truth (`file x y w h PLATE`)."""
    photos: list[LabelledPhoto] = []
    for label in sorted(folder.glob("*.txt")):
        fields = label.read_text(encoding="utf-8").split()
        if len(fields) < 6:
            continue
        name, x, y, w, h = fields[0], *(int(value) for value in fields[1:5])
        plate = "".join(ch for ch in fields[5].upper() if ch.isascii() and ch.isalnum())
        photos.append(LabelledPhoto(folder / name, (x, y, w, h), plate, split_half(name)))
    return photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list-split", action="store_true", help="print the split and stop")
    args = parser.parse_args()
    if args.list_split:
        for name in PHOTO_SETS:
            photos = load_set(SHARED / "data" / "anpr" / name)
            dev = sum(photo.half == "dev" for photo in photos)
            print(f"{name}: {len(photos)} photos, {dev} development, {len(photos) - dev} test")


if __name__ == "__main__":
    main()
