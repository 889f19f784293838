"""``safecity anpr``: read number plates in image and video files.

Results go to stdout as JSON lines only; progress and warnings to stderr. Only
the files named on the command line are opened. An image's plates carry, beside the
text, confidence and box of the interface, ``lines`` (the lines as printed) and
``rule`` (the format rule matched); see :func:`read`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

anpr_app = typer.Typer(help="Number-plate reading (ANPR)", no_args_is_help=True)
_err = Console(stderr=True, soft_wrap=True)

if TYPE_CHECKING:
    from safecity.vision.plates import PlateReader

_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


@anpr_app.callback()
def _group() -> None:
    """Number-plate reading (ANPR)."""
    # A callback keeps ``read`` a subcommand even while it is the only one.


def _emit(record: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@anpr_app.command()
def read(
    paths: Annotated[list[Path], typer.Argument(help="Image or video files")],
    rules: Annotated[
        str, typer.Option(help="Built-in format rules: pk (default), us or br")
    ] = "pk",
    rules_file: Annotated[
        Path | None, typer.Option(help="YAML catalogue of rule sets; --rules names the set")
    ] = None,
    every: Annotated[
        int, typer.Option(min=1, help="Video: read every Nth frame (tracks span the rest)")
    ] = 2,
    stationary: Annotated[
        bool,
        typer.Option(
            help="Video: also report text that never moves (camera overlays, signs, parked cars)"
        ),
    ] = False,
    threads: Annotated[
        int, typer.Option(min=0, help="ONNX Runtime threads per OCR call (0: every core)")
    ] = 1,
) -> None:
    """Print one JSON line per image (its plates) or per vehicle track in a video.

    Image: {"file", "plates": [{"text", "confidence", "box" (the list x, y, w, h), "lines",
    "rule"}]}, the most plausible plate first; "lines" are the registration's lines as
    printed (two for a two-line plate, upper first; "text" is them joined) and "rule" the
    format rule the text matched ("generic" for none). Video, one line per vehicle track:
    {"file", "track", "text", "confidence", "first_frame", "last_frame"}, printed once the
    whole video is read (text that never moved is judged over all of it). A file that
    cannot be read: {"file", "error"}.
    """
    from safecity.core.errors import ConfigError
    from safecity.vision.plates import FormatRules, PlateReader

    try:
        chosen = FormatRules.load(rules, rules_file)
    except ConfigError as exc:
        _err.print(f"[red]error:[/] {escape(exc.message)}")
        raise typer.Exit(2) from exc
    reader = PlateReader(rules=chosen, threads=threads)
    readable = 0
    for path in paths:
        try:
            if path.suffix.lower() in _IMAGE_SUFFIXES:
                _read_image(reader, path)
            else:
                _read_video(reader, path, every, stationary=stationary)
            readable += 1
        except _Unreadable as exc:
            _emit({"file": str(path), "error": str(exc)})
    if readable == 0:
        raise typer.Exit(1)


class _Unreadable(Exception):
    """The file could not be opened or decoded as an image or video."""


def _read_image(reader: PlateReader, path: Path) -> None:
    import cv2
    import numpy as np

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise _Unreadable(exc.strerror or "cannot read file") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise _Unreadable("not a readable image")
    plates = [
        {
            "text": plate.text,
            "confidence": plate.confidence,
            "box": list(plate.box.as_tuple()),
            "lines": list(plate.lines),
            "rule": plate.rule,
        }
        for plate in reader.read(image)
    ]
    _emit({"file": str(path), "plates": plates})


def _read_video(reader: PlateReader, path: Path, every: int, *, stationary: bool) -> None:
    import cv2

    from safecity.vision.plates import PlateTracks, TrackRead, still_text

    if not path.is_file():
        raise _Unreadable("a directory, not a file" if path.is_dir() else "no such file")
    capture = cv2.VideoCapture(str(path))
    closed: list[TrackRead] = []
    try:
        ok, frame = capture.read()
        if not ok or frame is None:
            raise _Unreadable("not a readable image or video")
        tracks = PlateTracks(max_gap=max(every * 4, 8))
        index = 0
        while ok and frame is not None:
            if index % every == 0:
                closed += tracks.update(index, reader.read(frame))
            index += 1
            ok, frame = capture.read()
        closed += tracks.finish()
    finally:
        capture.release()
    # Judged once the whole file is read: an overlay read on some frames and not others
    # comes out as several short tracks, which only together show it never moved.
    overlays = frozenset() if stationary else still_text(closed)
    for item in closed:
        if not stationary and (item.stationary or item.track in overlays):
            continue
        _emit(
            {
                "file": str(path),
                "track": item.track,
                "text": item.read.text,
                "confidence": item.read.confidence,
                "first_frame": item.first_frame,
                "last_frame": item.last_frame,
            }
        )
