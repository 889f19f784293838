"""``safecity sim render``: files on stdout, progress and errors on stderr."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from safecity.sim.cli import sim_app
from safecity.sim.truth import load_ground_truth


def test_render_lists_the_files_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "city"
    result = CliRunner().invoke(
        sim_app,
        [
            "render",
            "--seed",
            "3",
            "--duration",
            "1",
            "--out",
            str(out),
            "--cameras",
            "2",
            "--width",
            "320",
            "--height",
            "180",
            "--fps",
            "5",
            "--lighting",
            "night",
        ],
    )
    assert result.exit_code == 0, result.output
    listed = result.stdout.split()
    assert listed == [
        str(out / "cam-01.mp4"),
        str(out / "cam-02.mp4"),
        str(out / "ground_truth.json"),
    ]
    assert all(Path(name).stat().st_size > 0 for name in listed)
    truth = load_ground_truth(out / "ground_truth.json")
    assert (truth.width, truth.height, truth.fps, truth.frame_count) == (320, 180, 5, 5)
    assert [p.condition for p in truth.lighting] == ["night"]
    assert "vehicles" in result.stderr


def test_bad_options_fail_with_a_message_and_no_files(tmp_path: Path) -> None:
    out = tmp_path / "city"
    result = CliRunner().invoke(
        sim_app, ["render", "--seed", "3", "--duration", "1", "--out", str(out), "--width", "321"]
    )
    assert result.exit_code == 2
    assert "width must be even" in result.stderr
    assert result.stdout == ""
    assert not out.exists()
