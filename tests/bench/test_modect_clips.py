"""The phase-shifted camera copies of the ZoneMinder side by side decode frame for frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from ingest_clips import write_clip
from modect_clips import shifted_copy
from zm_modect import bracket


def _frames(path: Path) -> list[npt.NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        return [
            np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8)
            for frame in container.decode(video=0)
        ]


def _packets(path: Path) -> list[tuple[Fraction, bool]]:
    """(presentation time in seconds, key frame) of every packet."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        base = stream.time_base
        assert base is not None
        return [
            (p.pts * base, p.is_keyframe)
            for p in container.demux(stream)
            if p.size and p.pts is not None
        ]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Two GOPs of 30 frames (a key frame every 2 s at 15 fps), no B-frames.
    folder = tmp_path_factory.mktemp("clips")
    return write_clip(folder / "source.mp4", width=160, height=120, fps=15, seconds=4)


def test_a_shifted_copy_starts_at_the_gop_asked_and_its_first_gop_is_cut(
    source: Path, tmp_path: Path
) -> None:
    original = _frames(source)
    assert len(original) == 60
    copy = shifted_copy(source, tmp_path / "copy.mp4", start_gop=1, cut_frames=7)
    frames = _frames(copy)
    # GOP 1 without its last 7 frames, then GOP 0 whole: every frame decodes.
    expected = original[30:53] + original[0:30]
    assert len(frames) == len(expected) == 53
    assert all(np.array_equal(a, b) for a, b in zip(frames, expected, strict=True))
    packets = _packets(copy)
    assert [at for at, _ in packets] == [Fraction(index, 15) for index in range(53)]
    assert [index for index, (_, key) in enumerate(packets) if key] == [0, 23]


def test_without_a_shift_the_copy_is_the_clip(source: Path, tmp_path: Path) -> None:
    copy = shifted_copy(source, tmp_path / "same.mp4", start_gop=0, cut_frames=0)
    original, frames = _frames(source), _frames(copy)
    assert len(frames) == len(original)
    assert all(np.array_equal(a, b) for a, b in zip(frames, original, strict=True))


def test_a_cut_longer_than_the_gop_keeps_its_key_frame(source: Path, tmp_path: Path) -> None:
    copy = shifted_copy(source, tmp_path / "short.mp4", start_gop=2, cut_frames=99)
    packets = _packets(copy)
    # start_gop wraps round (2 GOPs: 2 -> 0); GOP 0 is cut to its key frame alone.
    assert len(packets) == 31
    assert [index for index, (_, key) in enumerate(packets) if key] == [0, 1]


def test_a_file_that_is_not_video_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(av.error.FFmpegError):
        shifted_copy(bad, tmp_path / "out.mp4", start_gop=0, cut_frames=0)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize(
    ("arrivals", "expected"),
    [
        ([], None),
        ([(5.0, "a")], None),  # one report cannot give a rate
        ([(1.0, "a"), (9.0, "b"), (21.0, "c"), (23.0, "d")], ("b", "c")),
        ([(12.0, "a"), (15.0, "b")], ("a", "b")),  # none outside: the nearest inside
        ([(1.0, "a"), (2.0, "b"), (15.0, "c")], ("b", "c")),
    ],
)
def test_the_window_is_bracketed_by_the_reports_around_it(
    arrivals: list[tuple[float, str]], expected: tuple[str, str] | None
) -> None:
    assert bracket(arrivals, started=10.0, ended=20.0) == expected
