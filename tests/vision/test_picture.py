"""A Picture gives the cheap stages grey from a decoded frame's luma and colour only on demand."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest

from safecity.analytics.pipeline import PipelineCamera, build_pipeline
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.contracts.base import Message
from safecity.ingest.frames import ColourConverter, picture_of
from safecity.vision.motion import MotionGate
from safecity.vision.picture import Picture


def _scene(width: int, height: int, seed: int = 3) -> npt.NDArray[np.uint8]:
    """A textured colour scene: smooth enough to survive H.264 without much loss."""
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return np.asarray(cv2.GaussianBlur(noise, (0, 0), 4) * 3 - 200, dtype=np.uint8)


def _road(width: int, height: int) -> npt.NDArray[np.uint8]:
    """A smooth backdrop: what moves on it is all the motion there is."""
    y, x = np.mgrid[0:height, 0:width]
    channels = [x * 200 / width + 20, y * 150 / height + 40, (x + y) * 100 / (width + height) + 60]
    return np.stack(channels, axis=-1).astype(np.uint8)


def _passing(steps: int, still: int) -> list[npt.NDArray[np.uint8]]:
    """A box driving left to right across the backdrop after ``still`` empty frames."""
    background, frames = _road(640, 384), []
    for step in range(steps):
        image = background.copy()
        if step >= still:
            x = 40 + 36 * (step - still)
            cv2.rectangle(image, (x, 140), (x + 80, 240), (20, 200, 240), -1)
        frames.append(image)
    return frames


def _decoded(images: list[npt.NDArray[np.uint8]], pix_fmt: str = "yuv420p") -> list[av.VideoFrame]:
    """The images through a real H.264 encode and decode, as the reader hands them on."""
    height, width = images[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = {"crf": "12"}
        for image in images:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer, mode="r") as container:
        return list(container.decode(video=0))


@pytest.mark.parametrize(("width", "height"), [(320, 180), (330, 186)])
def test_grey_from_luma_matches_grey_from_colour(width: int, height: int) -> None:
    # 330 is not a multiple of the decoder's line alignment: the luma rows are padded.
    (frame,) = _decoded([_scene(width, height)])
    picture = picture_of(frame)
    assert picture.shape == (height, width)
    colour = frame.to_ndarray(format="bgr24")
    for size in [(width, height), (width // 2, height // 2), (80, 45)]:
        expected = cv2.cvtColor(cv2.resize(colour, size, interpolation=cv2.INTER_AREA), 6)
        grey = picture.grey(size)
        assert grey.shape == (size[1], size[0])
        difference = np.abs(grey.astype(np.int16) - expected.astype(np.int16))
        # Limited-range luma stretched to full range: within rounding of BT.601's grey
        # (320x180 to 80x45 is two halvings, each rounding once more).
        assert float(difference.mean()) < (1.5 if width // size[0] < 4 else 1.75)
        assert int(difference.max()) <= 6


def _area(image: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)


def _luma(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    """The frame's luma plane without the decoder's row padding."""
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
    return np.ascontiguousarray(rows[: frame.height, : frame.width])


def _full_range(image: npt.NDArray[np.uint8], stretch: bool) -> npt.NDArray[np.uint8]:
    """Limited-range luma (16-235) stretched to 0-255 when ``stretch``."""
    if not stretch:
        return image
    return np.clip(np.round((image.astype(np.float64) - 16) * 255 / 219), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("range_", ["yuv420p", "yuvj420p"])
def test_a_power_of_two_fraction_of_the_frame_is_reached_by_halving(range_: str) -> None:
    """The motion gate's 160x90 and the follower's 640x360 of a 1280x720 frame share their
    first halving; a size that is no power-of-two fraction is one area resize."""
    (frame,) = _decoded([_scene(320, 192)], pix_fmt=range_)
    luma = _luma(frame)
    stretch = range_ == "yuv420p"

    def halved(times: int) -> npt.NDArray[np.uint8]:
        image = luma
        for _ in range(times):
            height, width = image.shape
            image = _area(image, (width // 2, height // 2))
        return image

    def full_range(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        return _full_range(image, stretch)

    picture = picture_of(frame)
    np.testing.assert_array_equal(picture.grey((40, 24)), full_range(halved(3)))
    np.testing.assert_array_equal(picture.grey((160, 96)), full_range(halved(1)))
    np.testing.assert_array_equal(picture.grey((80, 48)), full_range(halved(2)))
    single = _area(luma, (40, 24))
    assert np.abs(halved(3).astype(np.int16) - single).max() <= 1, "a level at most"
    other = picture.grey((64, 32))  # a fifth wide, a sixth high: one resize
    np.testing.assert_array_equal(other, full_range(_area(luma, (64, 32))))


def test_halving_a_frame_with_padded_rows_to_an_odd_size() -> None:
    """330 px rows are padded by the decoder, and half of 186 is odd: the half is still
    the area resize of the visible luma, not of the padding."""
    (frame,) = _decoded([_scene(330, 186)])
    expected = _full_range(_area(_luma(frame), (165, 93)), stretch=True)
    np.testing.assert_array_equal(picture_of(frame).grey((165, 93)), expected)


def test_colour_is_the_decoders_frame_converted_as_pyav_converts_it() -> None:
    """One converter serves a camera's frames, and a camera that changes resolution."""
    converter = ColourConverter()
    small = _decoded([_scene(160, 96, seed) for seed in range(3)])
    large = _decoded([_scene(330, 186)])
    frames = [*small, *large, small[0]]
    colours = [converter.picture(frame).bgr for frame in frames]
    # Checked after all were converted: a colour image the plate stage holds stays as it was.
    for frame, colour in zip(frames, colours, strict=True):
        expected = frame.to_ndarray(format="bgr24")
        assert colour.shape == (frame.height, frame.width, 3)
        np.testing.assert_array_equal(colour, expected)
        np.testing.assert_array_equal(picture_of(frame).bgr, expected)


def test_a_frame_that_is_not_planar_yuv_is_converted_whole() -> None:
    colour = _scene(64, 48)
    frame = av.VideoFrame.from_ndarray(colour, format="rgb24")
    picture = ColourConverter().picture(frame)
    assert picture.has_colour
    np.testing.assert_array_equal(picture.bgr, colour[:, :, ::-1])


def test_full_range_luma_is_not_stretched() -> None:
    (frame,) = _decoded([_scene(160, 96)], pix_fmt="yuvj420p")
    grey = picture_of(frame).grey((160, 96))
    expected = cv2.cvtColor(frame.to_ndarray(format="bgr24"), cv2.COLOR_BGR2GRAY)
    assert float(np.abs(grey.astype(np.int16) - expected.astype(np.int16)).mean()) < 1.5


def test_colour_is_converted_once_and_only_when_asked() -> None:
    calls: list[int] = []
    colour = _scene(64, 48)

    def to_bgr() -> npt.NDArray[np.uint8]:
        calls.append(1)
        return colour

    luma = np.asarray(cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY), np.uint8)
    picture = Picture.from_luma(luma, to_bgr, limited_range=False)
    picture.grey((32, 24))
    assert not picture.has_colour
    assert calls == []
    assert picture.bgr is colour
    assert picture.bgr is colour
    assert calls == [1], "converted once, kept"


def test_a_conversion_of_the_wrong_size_is_refused() -> None:
    luma = np.zeros((48, 64), np.uint8)
    picture = Picture.from_luma(luma, lambda: np.zeros((48, 63, 3), np.uint8), limited_range=True)
    with pytest.raises(ValueError, match="converted to"):
        _ = picture.bgr


@pytest.mark.parametrize("shape", [(48, 64), (48, 64, 4), (48, 64, 1)])
def test_not_a_bgr_image_is_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="BGR"):
        Picture.from_bgr(np.zeros(shape, np.uint8))
    with pytest.raises(ValueError, match="BGR"):
        MotionGate().regions(np.zeros(shape, np.uint8))


def test_motion_gate_sees_the_same_motion_in_decoded_frames_as_in_colour() -> None:
    decoded = _decoded(_passing(12, still=0))
    from_luma, from_colour = MotionGate(), MotionGate()
    for frame in decoded:
        by_luma = from_luma.regions(picture_of(frame))
        by_colour = from_colour.regions(np.asarray(frame.to_ndarray(format="bgr24"), np.uint8))
        assert len(by_luma) == len(by_colour)
        if len(by_luma):
            assert np.abs(by_luma.xyxy - by_colour.xyxy).max() <= 8
    assert len(by_luma) == 1
    assert by_luma.xyxy[0][0] > 400


def test_pipeline_converts_to_colour_only_when_a_stage_needs_it(tmp_path: Path) -> None:
    """Without a detector and with no events, a still scene is analysed on grey alone;
    a tripwire event needs its snapshot, so that frame is converted."""
    published: list[Message] = []
    config = CameraAnalyticsConfig.model_validate(
        {
            "analysed_fps": 5,
            "lines": [{"name": "gate", "start": [0.5, 0.0], "end": [0.5, 1.0]}],
            "rules": [{"name": "through", "kind": "line_crossing", "line": "gate"}],
        }
    )
    pipeline = build_pipeline(
        PipelineCamera("PSH-0001", tmp_path, config), None, None, published.append
    )
    frames = _passing(18, still=6)
    start = datetime(2026, 12, 7, tzinfo=UTC)
    coloured = []
    for index, frame in enumerate(_decoded(frames)):
        picture = picture_of(frame)
        pipeline.process(picture, start + timedelta(seconds=index / 5))
        coloured.append(picture.has_colour)
    assert not any(coloured[:6]), "a still scene needed no colour"
    events = [m for m in published if type(m).__name__ == "RuleEvent"]
    assert events, "the box crossed the line"
    assert sum(coloured) == len(events)
