"""The reader on real photos from ../shared/data/anpr (evaluation only, never copied).

A modest floor on a fixed sample of each set, so that a regression shows; the
full figures (development and test halves) come from bench/anpr_accuracy.py.
Skipped where ../shared is absent, failed in CI.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from safecity.vision.plates import PlateReader, normalise_text

SAMPLE = 12


def _sample(folder: Path) -> list[tuple[Path, str]]:
    photos = []
    for label in sorted(folder.glob("*.txt"))[:SAMPLE]:
        fields = label.read_text(encoding="utf-8").split()
        photos.append((folder / fields[0], normalise_text(fields[5])))
    return photos


def _exact(reader: PlateReader, photos: list[tuple[Path, str]]) -> tuple[int, list[str]]:
    hits, misses = 0, []
    for path, plate in photos:
        image = cv2.imread(str(path))
        assert image is not None, path
        reads = reader.read(image)
        top = reads[0].text if reads else ""
        hits += top == plate
        if top != plate:
            misses.append(f"{path.name}: {plate} read as {top or '-'}")
    return hits, misses


def test_brazilian_plates(shared_dir: Path, br_reader: PlateReader) -> None:
    photos = _sample(shared_dir / "data" / "anpr" / "br")
    hits, misses = _exact(br_reader, photos)
    # 10/12 when written; the whole-image RapidOCR baseline gets about 1/12 as its top line.
    assert hits >= 9, misses


def test_us_plates(shared_dir: Path, us_reader: PlateReader) -> None:
    photos = _sample(shared_dir / "data" / "anpr" / "us")
    hits, misses = _exact(us_reader, photos)
    # 5/12 when written (burned-in date overlays outrank some plates).
    assert hits >= 4, misses
