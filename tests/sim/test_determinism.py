"""The same seed gives the same ground truth and the same pictures; another seed does not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av

from safecity.sim.render import render_city, simulate_truth
from tests.sim.conftest import RENDER_ARGS, RENDER_SEED, Rendered


def _frame_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [
            hashlib.sha256(frame.to_ndarray(format="bgr24").tobytes()).hexdigest()
            for frame in container.decode(video=0)
        ]


def test_a_second_render_is_identical(rendered: Rendered, tmp_path: Path) -> None:
    args = RENDER_ARGS
    render_city(
        RENDER_SEED,
        float(args["duration"]),
        tmp_path,
        cameras=int(args["cameras"]),
        width=int(args["width"]),
        height=int(args["height"]),
        fps=int(args["fps"]),
    )
    first = (rendered.folder / "ground_truth.json").read_bytes()
    assert (tmp_path / "ground_truth.json").read_bytes() == first
    for camera in rendered.truth.cameras:
        hashes = _frame_hashes(rendered.folder / camera.file)
        assert len(set(hashes)) > len(hashes) // 2, "frames should change over time"
        assert _frame_hashes(tmp_path / camera.file) == hashes


def test_the_truth_does_not_depend_on_drawing(rendered: Rendered) -> None:
    assert simulate_truth(rendered.options) == rendered.truth


def test_another_seed_gives_another_city(rendered: Rendered) -> None:
    other = simulate_truth(
        rendered.options.__class__(**{**vars(rendered.options), "seed": RENDER_SEED + 1})
    )
    assert [v.plate for v in other.vehicles] != [v.plate for v in rendered.truth.vehicles]
    assert [c.position for c in other.cameras] != [c.position for c in rendered.truth.cameras]
