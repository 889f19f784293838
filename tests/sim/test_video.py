"""The rendered files: H.264 that decodes as promised, the frame counter, visible plates."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.stream import VideoStream

from safecity.sim.backdrop import draw_backdrop
from safecity.sim.city import build_city
from safecity.sim.counter import read_counter
from safecity.sim.truth import load_ground_truth
from safecity.sim.views import MAX_BLUR_PX
from tests.sim.conftest import Rendered


def _decode(path: str) -> list[np.ndarray]:
    with av.open(path) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def test_files_and_ground_truth_are_written(rendered: Rendered) -> None:
    names = sorted(p.name for p in rendered.folder.iterdir())
    cameras = [c.id for c in rendered.truth.cameras]
    assert names == sorted([*(f"{c}.mp4" for c in cameras), "ground_truth.json"])
    assert load_ground_truth(rendered.folder / "ground_truth.json") == rendered.truth


def test_each_plate_sample_records_the_smear_drawn_and_older_files_still_load(
    rendered: Rendered, tmp_path: Path
) -> None:
    samples = [
        sample
        for vehicle in rendered.truth.vehicles
        for appearance in vehicle.appearances
        for sample in appearance.samples
    ]
    assert samples
    smears = [sample.smear_px for sample in samples if sample.smear_px is not None]
    assert len(smears) == len(samples), "a sample without its smear"
    # The renderer's blur kernel: none, or an odd length up to its cap.
    assert all(smear == 0 or (smear % 2 == 1 and 3 <= smear <= MAX_BLUR_PX) for smear in smears)
    assert any(smear for smear in smears), "no vehicle was smeared at all"
    # A ground truth written before the smear was recorded reads with it unknown.
    older = json.loads((rendered.folder / "ground_truth.json").read_text())
    for vehicle in older["vehicles"]:
        for appearance in vehicle["appearances"]:
            for sample in appearance["samples"]:
                del sample["smear_px"]
    (tmp_path / "ground_truth.json").write_text(json.dumps(older))
    loaded = load_ground_truth(tmp_path / "ground_truth.json")
    assert {s.smear_px for v in loaded.vehicles for a in v.appearances for s in a.samples} == {None}


def test_every_camera_decodes_with_the_promised_shape_and_rate(rendered: Rendered) -> None:
    truth = rendered.truth
    for camera in truth.cameras:
        with av.open(str(rendered.folder / camera.file)) as container:
            stream = container.streams.video[0]
            assert isinstance(stream, VideoStream)
            assert stream.codec_context.name == "h264"
            assert stream.codec_context.pix_fmt == "yuv420p"
            assert (stream.codec_context.width, stream.codec_context.height) == (
                truth.width,
                truth.height,
            )
            assert stream.average_rate == truth.fps
            keys = [p.is_keyframe for p in container.demux(stream) if p.size]
        assert len(keys) == truth.frame_count
        assert [i for i, key in enumerate(keys) if key] == list(
            range(0, truth.frame_count, truth.keyframe_interval)
        )


def test_the_burned_counter_reads_as_the_frame_index(rendered: Rendered) -> None:
    frames = _decode(str(rendered.folder / rendered.truth.cameras[0].file))
    assert [read_counter(frame) for frame in frames] == list(range(rendered.truth.frame_count))


def test_plates_show_where_the_ground_truth_puts_them(rendered: Rendered) -> None:
    """The plate box differs strongly from the empty road, and holds lettering."""
    truth = rendered.truth
    city = build_city(rendered.options)
    sites = {site.id: site for site in city.cameras}
    frames = {c.id: _decode(str(rendered.folder / c.file)) for c in truth.cameras}
    checked = 0
    for vehicle in truth.vehicles:
        for appearance in vehicle.appearances:
            for sample in appearance.samples:
                box = sample.plate_box
                if box is None or sample.plate_occluded or box.h < 6 or box.w < 12:
                    continue
                lighting = city.lighting.condition_at(sample.time_s)
                if city.lighting.blend_at(sample.time_s)[2] > 0:
                    continue  # mid-fade: no single empty backdrop to compare with
                empty = draw_backdrop(sites[appearance.camera_id], lighting)
                crop = frames[appearance.camera_id][sample.frame][
                    box.y : box.y + box.h, box.x : box.x + box.w
                ]
                road = empty[box.y : box.y + box.h, box.x : box.x + box.w]
                difference = np.abs(crop.astype(int) - road.astype(int)).mean()
                assert difference > 15, (vehicle.id, sample.frame, difference)
                assert crop.mean(axis=2).std() > 10, (vehicle.id, sample.frame)
                checked += 1
    assert checked >= 10


@pytest.mark.parametrize("camera_index", [0, 1])
def test_vehicles_show_inside_their_boxes_only(rendered: Rendered, camera_index: int) -> None:
    """Outside every vehicle box (and the overlays) a frame is the empty road."""
    truth = rendered.truth
    city = build_city(rendered.options)
    site = city.cameras[camera_index]
    frames = _decode(str(rendered.folder / truth.cameras[camera_index].file))
    frame_index = 15
    assert city.lighting.blend_at(frame_index / truth.fps)[2] == 0
    empty = draw_backdrop(site, city.lighting.condition_at(frame_index / truth.fps))
    mask = np.zeros((truth.height, truth.width), bool)
    mask[: truth.height // 8, :] = True  # counter and time overlay
    for vehicle in truth.vehicles:
        for appearance in vehicle.appearances:
            for sample in appearance.samples:
                if appearance.camera_id == site.id and sample.frame == frame_index:
                    box = sample.vehicle_box
                    mask[box.y : box.y + box.h, box.x : box.x + box.w] = True
    outside = np.abs(frames[frame_index].astype(int) - empty.astype(int)).mean(axis=2)[~mask]
    # Only compression noise remains, plus vehicles whose plate is off-frame (no sample).
    assert np.percentile(outside, 95) < 12
