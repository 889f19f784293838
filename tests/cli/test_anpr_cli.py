"""`safecity anpr read` run as an operator would: an image, a simulated video, a corrupt file.

stdout holds JSON lines only; each file gets its own line(s) and a bad file does not stop
the others; the exit code is non-zero only when no file could be read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.sim.plate_render import draw_plate
from safecity.sim.plates import generate_plate

SAFECITY = Path(sys.executable).parent / "safecity"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SAFECITY), "anpr", "read", *args], capture_output=True, text=True, timeout=120
    )


def _lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.fixture(scope="module")
def plate_photo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    design = generate_plate(np.random.default_rng(21), "car")
    plate = draw_plate(design)
    scale = 44 / plate.shape[0]
    small = cv2.resize(plate, (round(plate.shape[1] * scale), 44), interpolation=cv2.INTER_AREA)
    canvas = np.full((300, 400, 3), 80, np.uint8)
    canvas[120 : 120 + small.shape[0], 70 : 70 + small.shape[1]] = small
    path = tmp_path_factory.mktemp("anpr") / "car.png"
    cv2.imwrite(str(path), canvas)
    return path, design.registration


def test_an_image_and_a_corrupt_file(plate_photo: tuple[Path, str], tmp_path: Path) -> None:
    photo, registration = plate_photo
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = _run(str(corrupt), str(photo))
    assert result.returncode == 0, result.stderr
    first, second = _lines(result.stdout)
    assert set(first) == {"file", "error"}
    assert first["file"] == str(corrupt)
    assert set(second) == {"file", "plates"}
    assert second["file"] == str(photo)
    plates = second["plates"]
    assert isinstance(plates, list)
    assert plates
    top = plates[0]
    # The interface's keys, plus the lines as printed and the format rule matched.
    assert set(top) == {"text", "confidence", "box", "lines", "rule"}
    assert top["text"] == registration
    assert top["lines"] == [registration]
    assert top["rule"] == "pk-kp"
    assert 0 < top["confidence"] <= 1
    x, y, w, h = top["box"]
    assert 60 <= x <= 120
    assert 110 <= y <= 170
    assert w > 0
    assert h > 0


def test_the_help_documents_the_records() -> None:
    result = subprocess.run(
        [str(SAFECITY), "anpr", "read", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    for key in ('"lines"', '"rule"', '"first_frame"', '"error"', "x, y, w, h"):
        assert key in result.stdout


def test_an_unknown_rule_set_or_a_bad_rules_file_is_refused(
    plate_photo: tuple[Path, str], tmp_path: Path
) -> None:
    photo, registration = plate_photo
    unknown = _run(str(photo), "--rules", "xx")
    assert unknown.returncode == 2
    assert unknown.stdout == ""
    assert "no rule set 'xx'; known: ['br', 'pk', 'us']" in unknown.stderr
    bad = tmp_path / "rules.yaml"
    bad.write_text("sets:\n  mine:\n    rules: [{name: m, pattern: Q}]\n")
    refused = _run(str(photo), "--rules", "mine", "--rules-file", str(bad))
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert "rules.yaml:3" in refused.stderr
    good = tmp_path / "digits.yaml"
    good.write_text("sets:\n  mine:\n    rules: [{name: m, pattern: 'L{3}D{3}'}]\n")
    chosen = _run(str(photo), "--rules", "mine", "--rules-file", str(good))
    assert chosen.returncode == 0, chosen.stderr
    (record,) = _lines(chosen.stdout)
    plates = record["plates"]
    assert isinstance(plates, list)
    assert plates[0]["rule"] == "m"
    assert plates[0]["text"] == registration


def test_only_unreadable_files_exit_non_zero(tmp_path: Path) -> None:
    corrupt = tmp_path / "clip.mp4"
    corrupt.write_bytes(b"\x00" * 2000)
    folder = tmp_path / "clips"
    folder.mkdir()
    result = _run(str(corrupt), str(tmp_path / "missing.jpg"), str(folder))
    assert result.returncode == 1
    records = _lines(result.stdout)
    assert [record["file"] for record in records] == [
        str(corrupt),
        str(tmp_path / "missing.jpg"),
        str(folder),
    ]
    assert all("error" in record for record in records)
    assert records[2]["error"] == "a directory, not a file"


def test_a_simulated_video_gives_one_line_per_vehicle_track(tmp_path: Path) -> None:
    """Two vehicles' plates (drawn by the simulator) cross a 480x320 view, one after the
    other; 24 frames encoded as MPEG-4."""
    first = generate_plate(np.random.default_rng(31), "car")
    second = generate_plate(np.random.default_rng(32), "van")
    sprites = []
    for design in (first, second):
        plate = draw_plate(design)
        scale = 46 / plate.shape[0]
        sprites.append(
            cv2.resize(plate, (round(plate.shape[1] * scale), 46), interpolation=cv2.INTER_AREA)
        )
    video = tmp_path / "street.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), 10, (480, 320))
    for frame in range(24):
        canvas = np.full((320, 480, 3), 85, np.uint8)
        sprite = sprites[0] if frame < 12 else sprites[1]
        step = frame % 12
        x, y = 20 + step * 12, 60 + step * 8
        canvas[y : y + sprite.shape[0], x : x + sprite.shape[1]] = sprite
        writer.write(canvas)
    writer.release()
    result = _run(str(video), "--every", "2")
    assert result.returncode == 0, result.stderr
    records = _lines(result.stdout)
    for record in records:
        assert set(record) == {"file", "track", "text", "confidence", "first_frame", "last_frame"}
        assert record["file"] == str(video)
    spans = {record["text"]: (record["first_frame"], record["last_frame"]) for record in records}
    assert spans.get(first.registration) == (0, 10), records
    assert spans.get(second.registration) == (12, 22), records
    assert len(records) == 2, records


def test_threads_option(plate_photo: tuple[Path, str]) -> None:
    photo, registration = plate_photo
    result = _run(str(photo), "--threads", "2")
    assert result.returncode == 0, result.stderr
    (record,) = _lines(result.stdout)
    plates = record["plates"]
    assert isinstance(plates, list)
    assert plates[0]["text"] == registration
    refused = _run(str(photo), "--threads", "-1")
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert "threads" in refused.stderr
