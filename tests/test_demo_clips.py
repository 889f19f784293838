"""The demo's clips are rendered in child processes that a stop ends, and a clip set
counts only when it is complete."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from safecity.demo.clips import ClipRenderer, ClipSet, RenderFailed, demo_clip_sets
from tests.support.processes import alive


def test_half_the_cameras_get_the_anpr_view_and_the_first_when_odd(tmp_path: Path) -> None:
    assert [(s.view, s.count) for s in demo_clip_sets(tmp_path, 1)] == [("anpr", 1)]
    assert [(s.view, s.count) for s in demo_clip_sets(tmp_path, 5)] == [
        ("anpr", 3),
        ("overview", 2),
    ]
    folders = {s.folder for s in demo_clip_sets(tmp_path, 4)}
    assert len(folders) == 2
    assert all(folder.parent == tmp_path / "sim" for folder in folders)


def test_missing_clips_are_rendered_with_their_ground_truth(tmp_path: Path) -> None:
    clip_set = ClipSet(tmp_path, "overview", 2, seconds=2)
    renderer = ClipRenderer([clip_set])
    assert renderer.missing() == [clip_set]
    assert clip_set.clips() == []

    assert renderer.render() is True

    clips = clip_set.clips()
    assert [clip.path.suffix for clip in clips] == [".mp4", ".mp4"]
    assert all(clip.path.stat().st_size > 0 for clip in clips)
    assert {(clip.width, clip.height) for clip in clips} == {(640, 360)}
    truth = json.loads(clip_set.ground_truth.read_text())
    assert len(truth["cameras"]) == 2
    assert renderer.missing() == []
    assert not list((tmp_path / "sim").glob("*.partial")), "the partial folder was renamed"


def test_an_incomplete_folder_does_not_count_and_is_rendered_again(tmp_path: Path) -> None:
    clip_set = ClipSet(tmp_path, "overview", 1, seconds=1)
    clip_set.folder.mkdir(parents=True)
    (clip_set.folder / "CAM01.mp4").write_bytes(b"half a clip")  # no ground truth
    assert clip_set.clips() == []
    assert ClipRenderer([clip_set]).render() is True
    assert len(clip_set.clips()) == 1
    assert clip_set.clips()[0].path.stat().st_size > len(b"half a clip")


def test_cancel_ends_the_render_child_and_leaves_no_clip_set(tmp_path: Path) -> None:
    # Long enough that it cannot finish before the cancel.
    clip_set = ClipSet(tmp_path, "anpr", 2, seconds=600)
    renderer = ClipRenderer([clip_set])
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(renderer.render()))
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not renderer._children:
        time.sleep(0.05)
    assert renderer._children, "the render child started"
    child = renderer._children[0]
    assert alive(child.pid)

    renderer.cancel()
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert result == [False]
    assert child.poll() is not None, "the render child was stopped"
    assert clip_set.clips() == []
    assert not clip_set.folder.exists()
    # A later start after a cancel renders nothing either.
    assert renderer.render() is False


def test_a_failed_render_says_why(tmp_path: Path) -> None:
    (tmp_path / "sim").write_text("a file where the clips' folder should be")
    renderer = ClipRenderer([ClipSet(tmp_path, "overview", 1, seconds=1)])
    with pytest.raises(RenderFailed, match=r"overview clips failed \(exit \d+\)"):
        renderer.render()
