"""Plate reading accuracy on real photos (../shared/data/anpr) and on simulated video.

The split rule below was committed before any tuning: every photo belongs to
the development half or the test half by the first byte of the SHA-256 of its
file name (even: development, odd: test). Only the development half may be
looked at while improving the reader; the test half is reported, never studied.

Both the reader (safecity.vision.plates) and the baseline run in the same
process on the same inputs. Baseline: RapidOCR on the whole image; its "top-1"
is the highest-confidence line normalised to A-Z0-9, its "any" counts a photo
when any line equals the plate (the scoring of ../shared/data/README.md).
The reader's "top-1" is its first (most plausible) read.

The simulated section renders seeds never used in development (7101: ANPR
view, 7102: the default overview) and compares each vehicle track's fused read
with ground_truth.json.

The vehicle-crop section (``--crops``) measures the reader as the analytics
pipeline uses it: for every vehicle of a render, the frames of its ground-truth
samples (up to five per appearance, whole plate in view) are read with the
vehicle's box as the region, the reads fused per vehicle; milliseconds per crop
on one ONNX Runtime thread. The baseline reads the same crops with RapidOCR.

Reader configurations (``--recognisers``, default all of them, in the same run):
``ppocr`` (PP-OCR's detector and line recogniser: the reader before the own model),
``slots`` (the detector, then the project's own whole-plate model, models/MODEL_CARD.md),
``slots-first`` (the own model, PP-OCR's recogniser only where it is unsure) and
``cues+slots-first`` (in a vehicle region, image-cue regions read by the own model
first; the detector only when that is unsure), ``locator+ppocr`` (in a vehicle region the
own plate locator, models/PLATE_LOCATOR.md, and the own model first; where that is unsure,
PP-OCR on a small crop around each located plate; the whole region only where nothing is
located), ``locator+slots-first`` (the same with ``slots-first`` reading PP-OCR's lines)
and ``locator-only`` (the locator and the own model, no detector or PP-OCR at all).

Every method runs with one ONNX Runtime thread. To measure another version of
the reader with the same script (before/after), put its source first on the
path: ``PYTHONPATH=/path/to/other/src .venv/bin/python bench/anpr_accuracy.py``.

Run: .venv/bin/python bench/anpr_accuracy.py [--photos] [--sim] [--crops]
[--seeds N,N] [--list-split]. Prints markdown tables for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from safecity.sim.truth import Box, CameraView, GroundTruth
from safecity.vision.plates import (
    FormatRules,
    PlateReader,
    PlateTracks,
    fuse_reads,
    normalise_text,
)
from safecity.vision.plates.candidate_reader import Recogniser
from safecity.vision.plates.located import LocatorUse
from safecity.vision.plates.result import PlateRead
from safecity.vision.plates.vehicle import Sighting, plate_sightings
from sim_renders import camera_visits, decode_frames, rendered, video_frames

CONFIGS: dict[str, tuple[Recogniser, bool, LocatorUse]] = {
    "ppocr": ("ppocr", False, "off"),
    "slots": ("slots", False, "off"),
    "slots-first": ("slots-first", False, "off"),
    "cues+slots-first": ("slots-first", True, "off"),
    "locator+ppocr": ("ppocr", False, "first"),
    "locator+slots-first": ("slots-first", False, "first"),
    "locator-only": ("slots", False, "only"),
}
"""Reader configurations by name: (recogniser, cues_first, locator). ``ppocr`` is PP-OCR's line
recogniser after PP-OCR's detector (the reader before the own model); ``slots`` the own
whole-plate model after the detector; ``slots-first`` the own model with PP-OCR
recognition where it is unsure; ``cues+slots-first`` in a vehicle region first the
image-cue regions read by the own model, the detector only when that is unsure;
``locator+...`` the own plate locator and model first in a vehicle region (a whole photo
is read as without it), ``locator-only`` nothing else."""


def _reader(rules: FormatRules, config: str) -> PlateReader:
    recogniser, cues_first, locator = CONFIGS[config]
    reader = PlateReader(
        rules=rules, threads=1, recogniser=recogniser, cues_first=cues_first, locator=locator
    )
    reader.warm_up()  # load the models outside the timing
    return reader


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


class Baseline:
    """RapidOCR on the whole image, as measured before the reader existed."""

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]

        # One ONNX Runtime thread for both methods: on a shared machine its spinning
        # thread pool otherwise costs far more than it gains.
        self._ocr = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)

    def lines(self, image: np.ndarray) -> list[tuple[str, float]]:
        result, _ = self._ocr(image)
        if not result:
            return []
        found = [(normalise_text(str(item[1])), float(item[2])) for item in result]
        return sorted((item for item in found if item[0]), key=lambda item: -item[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def photos_section(
    baseline: Baseline | None,
    sets: tuple[str, ...],
    halves: tuple[str, ...],
    recognisers: tuple[str, ...],
) -> None:
    """Per set and half: the baseline's and each reader configuration's exact rates."""
    header = "| set | half | photos | baseline top-1 | baseline any | baseline ms median / p90 |"
    rule = "|---|---|---:|---:|---:|---:|"
    for mode in recognisers:
        header += f" reader ({mode}) top-1 | any | ms median / p90 |"
        rule += "---:|---:|---:|"
    print(header)
    print(rule)
    for name in sets:
        readers = {mode: _reader(FormatRules.builtin(name), mode) for mode in recognisers}
        tallies: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(list))
        for photo in load_set(SHARED / "data" / "anpr" / name):
            if photo.half not in halves:
                continue
            image = cv2.imread(str(photo.path))
            if image is None:
                continue
            start = time.perf_counter()
            lines = baseline.lines(image) if baseline is not None else []
            spent = {"base": (time.perf_counter() - start) * 1000}
            outcome = {
                "base_top": bool(lines) and lines[0][0] == photo.plate,
                "base_any": any(text == photo.plate for text, _ in lines),
            }
            for mode, reader in readers.items():
                start = time.perf_counter()
                reads = reader.read(image)
                spent[mode] = (time.perf_counter() - start) * 1000
                outcome[f"{mode}_top"] = bool(reads) and reads[0].text == photo.plate
                outcome[f"{mode}_any"] = any(read.text == photo.plate for read in reads)
            for half in (photo.half, "all"):
                tallies[half]["n"].append(1)
                for key, hit in outcome.items():
                    tallies[half][key].append(hit)
                for key, cost in spent.items():
                    tallies[half][f"{key}_ms"].append(cost)
            done = tallies["all"]
            progress = ", ".join(
                f"{key} {sum(done[key])}" for key in outcome if key.endswith("_top")
            )
            print(f"{name} {photo.half} {len(done['n'])}: {progress}", file=sys.stderr, flush=True)
        for half in (*halves, "all") if len(halves) > 1 else halves:
            t = tallies[half]
            n = len(t["n"])

            def rate(key: str, t: dict[str, Any] = t, n: int = n) -> str:
                return f"{100 * sum(t[key]) / n:.1f} %"

            def ms(key: str, t: dict[str, Any] = t) -> str:
                return f"{statistics.median(t[key]):.0f} / {_percentile(t[key], 0.9):.0f}"

            row = (
                f"| {name} | {half} | {n} | {rate('base_top')} | {rate('base_any')} | "
                f"{ms('base_ms')} |"
            )
            for mode in recognisers:
                row += f" {rate(mode + '_top')} | {rate(mode + '_any')} | {ms(mode + '_ms')} |"
            print(row)


@dataclass(frozen=True)
class _Track:
    text: str
    first: int
    last: int


def _reader_tracks(
    reader: PlateReader, video: Path, every: int, spent: list[float]
) -> list[_Track]:
    tracks = PlateTracks(max_gap=max(every * 4, 8))
    found: list[_Track] = []
    for index, frame in video_frames(video):
        if index % every == 0:
            start = time.perf_counter()
            reads = reader.read(frame)
            spent.append((time.perf_counter() - start) * 1000)
            for item in tracks.update(index, reads):
                if not item.stationary:
                    found.append(_Track(item.read.text, item.first_frame, item.last_frame))
    found += [
        _Track(i.read.text, i.first_frame, i.last_frame)
        for i in tracks.finish()
        if not i.stationary
    ]
    return found


def _baseline_tracks(
    baseline: Baseline, video: Path, every: int, spent: list[float]
) -> list[_Track]:
    """Each distinct plate-shaped best line (4-8 characters, letters and digits) as a 'track'
    spanning the frames where it was the best line."""
    spans: dict[str, list[int]] = {}
    for index, frame in video_frames(video):
        if index % every == 0:
            start = time.perf_counter()
            lines = baseline.lines(frame)
            spent.append((time.perf_counter() - start) * 1000)
            for text, _ in lines:
                shaped = 4 <= len(text) <= 8 and not text.isdigit() and not text.isalpha()
                if shaped:
                    spans.setdefault(text, []).append(index)
                    break
    return [_Track(text, min(frames), max(frames)) for text, frames in spans.items()]


def _bucket(height: float | None) -> str:
    if height is None:
        return "unknown"
    for limit in (12, 20, 30, 45):
        if height < limit:
            return f"< {limit} px"
    return ">= 45 px"


def _score(
    truth: GroundTruth, camera: str, tracks: list[_Track], rows: dict[str, list[int]]
) -> int:
    """Adds hits per breakdown row; returns the number of false reads."""
    present = []
    for vehicle in truth.vehicles:
        for appearance in vehicle.appearances:
            if appearance.camera_id != camera or not appearance.samples:
                continue
            present.append((vehicle.plate, appearance))
            hit = any(
                track.text == vehicle.plate
                and track.first <= appearance.last_frame
                and track.last >= appearance.first_frame
                for track in tracks
            )
            for key in (
                "all",
                f"height {_bucket(appearance.plate_height_px)}",
                f"lighting {appearance.lighting}",
            ):
                rows.setdefault(key, [0, 0])
                rows[key][0] += 1
                rows[key][1] += int(hit)
    plates = {plate for plate, _ in present}
    return sum(1 for track in tracks if track.text not in plates)


def sim_section(
    baseline: Baseline,
    seconds: float,
    every: int,
    renders: tuple[tuple[int, CameraView], ...],
    recognisers: tuple[str, ...],
) -> None:
    readers = {f"reader ({mode})": _reader(FormatRules.default(), mode) for mode in recognisers}
    print(
        "| render | method | vehicles with a visible plate | read exactly | false reads | "
        "false reads per camera-hour | ms per frame read, median |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    breakdowns: list[tuple[str, str, dict[str, list[int]]]] = []
    for seed, view in renders:
        with rendered(seed, seconds, view) as render:
            truth = render.truth
            hours = seconds * len(truth.cameras) / 3600
            for method in ("baseline", *readers):
                rows: dict[str, list[int]] = {}
                false = 0
                spent: list[float] = []
                for camera in truth.cameras:
                    video = render.video(camera)
                    tracks = (
                        _reader_tracks(readers[method], video, every, spent)
                        if method in readers
                        else _baseline_tracks(baseline, video, every, spent)
                    )
                    false += _score(truth, camera.id, tracks, rows)
                total, hits = rows.get("all", [0, 0])
                share = f"{100 * hits / total:.0f} %" if total else "-"
                print(
                    f"| seed {seed}, {view} | {method} | {total} | {hits} ({share}) | "
                    f"{false} | {false / hours:.0f} | {statistics.median(spent):.0f} |"
                )
                breakdowns.append((f"seed {seed}, {view}", method, rows))
    print()
    print("| render | method | group | vehicles | read exactly |")
    print("|---|---|---|---:|---:|")
    for label, method, rows in breakdowns:
        for key in sorted(rows):
            if key != "all":
                total, hits = rows[key]
                print(f"| {label} | {method} | {key} | {total} | {hits} |")


def _crop_rows(rows: dict[str, list[int]], keys: list[str], hit: bool, wrong: bool) -> None:
    for key in keys:
        rows.setdefault(key, [0, 0, 0])
        rows[key][0] += 1
        rows[key][1] += int(hit)
        rows[key][2] += int(wrong)


def crops_section(
    baseline: Baseline | None,
    seeds: tuple[int, ...],
    view: CameraView,
    seconds: float,
    recognisers: tuple[str, ...],
) -> None:
    """Per-vehicle accuracy and ms per vehicle crop, reading regions as the pipeline does."""
    readers = {f"reader ({mode})": _reader(FormatRules.default(), mode) for mode in recognisers}
    methods = (*readers, *(() if baseline is None else ("baseline",)))
    rows: dict[str, dict[str, list[int]]] = {method: {} for method in methods}
    times: dict[str, list[float]] = {method: [] for method in methods}
    for seed in seeds:
        with rendered(seed, seconds, view) as render:
            for camera in render.truth.cameras:
                visits = camera_visits(render.truth, camera.id)
                wanted = {s.frame for _, a in visits for s in a.samples if not s.plate_occluded}
                frames = decode_frames(render.video(camera), wanted)
                for vehicle, appearance in visits:
                    samples = [s for s in appearance.samples if s.frame in frames]
                    if not samples:
                        continue
                    keys = [
                        "all",
                        f"height {_bucket(appearance.plate_height_px)}",
                        f"lighting {appearance.lighting}",
                    ]
                    for method in methods:
                        text = _read_vehicle(
                            readers.get(method, baseline),
                            [(frames[sample.frame], sample.vehicle_box) for sample in samples],
                            times[method],
                        )
                        hit = text == vehicle.plate
                        _crop_rows(rows[method], keys, hit, bool(text) and not hit)
    print("| render | method | vehicles | read exactly | read wrongly | ms per crop median / p90 |")
    print("|---|---|---:|---:|---:|---:|")
    label = f"seeds {', '.join(map(str, seeds))}, {view}"
    for method in methods:
        total, hits, wrong = rows[method].get("all", [0, 0, 0])
        share = f"{100 * hits / total:.0f} %" if total else "-"
        spent = times[method]
        ms = f"{statistics.median(spent):.1f} / {_percentile(spent, 0.9):.1f}" if spent else "-"
        print(f"| {label} | {method} | {total} | {hits} ({share}) | {wrong} | {ms} |")
    print()
    print("| render | method | group | vehicles | read exactly | read wrongly |")
    print("|---|---|---|---:|---:|---:|")
    for method in methods:
        for key in sorted(rows[method]):
            if key != "all":
                total, hits, wrong = rows[method][key]
                print(f"| {label} | {method} | {key} | {total} | {hits} | {wrong} |")


def _read_vehicle(
    method: PlateReader | Baseline | None, crops: list[tuple[np.ndarray, Box]], spent: list[float]
) -> str:
    """One vehicle's text from its sample frames: the reader's reads fused, or the
    baseline's most frequent plate-shaped best line.

    As in the pipeline's ANPR stage, the reader's readings that cannot be the vehicle's
    plate (``vision.plates.vehicle``: text that stood still while the vehicle moved, text
    above a plate's place on the vehicle) are dropped before fusion; of each frame the
    first reading left is fused."""
    per_frame: list[list[PlateRead]] = []
    texts: list[str] = []
    for frame, box in crops:
        start = time.perf_counter()
        if isinstance(method, PlateReader):
            per_frame.append(method.read(frame, region=(box.x, box.y, box.w, box.h)))
        elif method is not None:
            crop = frame[box.y : box.y + box.h, box.x : box.x + box.w]
            texts.extend(_shaped(method.lines(crop))[:1])
        spent.append((time.perf_counter() - start) * 1000)
    if isinstance(method, PlateReader):
        fused = fuse_reads(_plate_reads(per_frame, [box for _, box in crops]))
        return fused.text if fused is not None else ""
    return max(set(texts), key=texts.count) if texts else ""


def _plate_reads(per_frame: list[list[PlateRead]], boxes: list[Box]) -> list[PlateRead]:
    """Each frame's first reading that may be the vehicle's plate."""
    flat = [(index, read) for index, reads in enumerate(per_frame) for read in reads]
    verdict = plate_sightings(
        [
            Sighting(
                frame=float(index),
                text=read.text,
                plate_box=read.box.as_tuple(),
                vehicle_box=(boxes[index].x, boxes[index].y, boxes[index].w, boxes[index].h),
            )
            for index, read in flat
        ]
    )
    first: dict[int, PlateRead] = {}
    for position in verdict.kept:
        index, read = flat[position]
        first.setdefault(index, read)
    return [first[index] for index in sorted(first)]


def _shaped(lines: list[tuple[str, float]]) -> list[str]:
    """The baseline's lines that look like a registration (4-8 characters, letters and
    digits mixed), best first."""
    return [
        text
        for text, _ in lines
        if 4 <= len(text) <= 8 and not text.isdigit() and not text.isalpha()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list-split", action="store_true", help="print the split and stop")
    parser.add_argument("--photos", action="store_true", help="only the photo sets")
    parser.add_argument("--sim", action="store_true", help="only the simulated video")
    parser.add_argument("--crops", action="store_true", help="only the simulated vehicle crops")
    parser.add_argument(
        "--seeds",
        default="7101,7102",
        help="render seeds, comma-separated: --sim alternates the anpr and overview views; "
        "--crops renders each in --view",
    )
    parser.add_argument("--view", choices=("anpr", "overview"), default="anpr", help="--crops")
    parser.add_argument("--no-baseline", action="store_true", help="the reader only")
    parser.add_argument(
        "--recognisers",
        default=",".join(CONFIGS),
        help=f"reader configurations to compare, comma-separated, of {', '.join(CONFIGS)}",
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="simulated seconds")
    parser.add_argument("--every", type=int, default=2, help="read every Nth video frame")
    parser.add_argument("--set", choices=PHOTO_SETS, action="append", help="photo set(s)")
    parser.add_argument("--half", choices=("dev", "test"), action="append", help="half(s)")
    args = parser.parse_args()
    if args.list_split:
        for name in PHOTO_SETS:
            photos = load_set(SHARED / "data" / "anpr" / name)
            dev = sum(photo.half == "dev" for photo in photos)
            print(f"{name}: {len(photos)} photos, {dev} development, {len(photos) - dev} test")
        return
    baseline = Baseline()
    recognisers = tuple(_recogniser(name) for name in args.recognisers.split(","))
    seeds = tuple(int(seed) for seed in args.seeds.split(","))
    both = not args.photos and not args.sim and not args.crops
    if args.crops:
        crops_section(
            None if args.no_baseline else baseline, seeds, args.view, args.seconds, recognisers
        )
        print()
    if args.photos or both:
        sets = tuple(args.set or PHOTO_SETS)
        photos_section(
            None if args.no_baseline else baseline,
            sets,
            tuple(args.half or ("dev", "test")),
            recognisers,
        )
        print()
    if args.sim or both:
        views: tuple[CameraView, ...] = ("anpr", "overview")
        renders = tuple((seed, views[index % 2]) for index, seed in enumerate(seeds))
        sim_section(baseline, args.seconds, args.every, renders, recognisers)


def _recogniser(name: str) -> str:
    if name not in CONFIGS:
        raise SystemExit(f"unknown reader configuration {name!r}: one of {', '.join(CONFIGS)}")
    return name


if __name__ == "__main__":
    main()
