"""Plate boxes in the ground truth are exactly where the renderer pastes the plates."""

from __future__ import annotations

import numpy as np
import pytest

from safecity.sim import frame as frame_module
from safecity.sim.city import build_city
from safecity.sim.counter import read_counter
from safecity.sim.frame import CameraRenderer
from safecity.sim.plate_render import mip_chain
from safecity.sim.plates import PlateDesign
from safecity.sim.render import city_options
from safecity.sim.scene import PlateLook
from tests.sim.conftest import Rendered


def _magenta_plates(design: PlateDesign, look: PlateLook, seed: int) -> list[np.ndarray]:
    del look, seed
    image = np.zeros((70, 240, 3), np.uint8)
    image[:] = (255, 0, 255)
    return mip_chain(image)


def test_plate_boxes_match_the_pasted_pixels(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frame_module, "plate_images", _magenta_plates)
    monkeypatch.setattr(CameraRenderer, "_motion_blur", lambda *args: None)
    truth = rendered.truth
    city = build_city(rendered.options)
    renderers = {site.id: CameraRenderer(city, site) for site in city.cameras}
    checked = 0
    for vehicle in truth.vehicles:
        for appearance in vehicle.appearances:
            for sample in appearance.samples:
                box = sample.plate_box
                if box is None or sample.plate_occluded or box.w < 4:
                    continue
                image, _ = renderers[appearance.camera_id].render(sample.frame)
                pixels = image.astype(int)
                # Pure magenta, dimmed at most to 0.78 after dark; truck-art purple has more green.
                magenta = (pixels[..., 1] < 25) & (pixels[..., 0] > 150) & (pixels[..., 2] > 150)
                # Only this plate is magenta near its box; other plates are elsewhere.
                window = np.zeros_like(magenta)
                window[
                    max(box.y - 6, 0) : box.y + box.h + 6, max(box.x - 6, 0) : box.x + box.w + 6
                ] = True
                rows, cols = np.nonzero(magenta & window)
                assert rows.size, (vehicle.id, sample.frame)
                found = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
                expected = (box.x, box.y, box.x + box.w, box.y + box.h)
                # Edge pixels whose centre falls outside the quad keep the road, so the
                # pasted area may be a pixel or two inside the box, never outside or off-centre.
                error = np.array(found) - np.array(expected)
                assert np.abs(error).max() <= 2, (vehicle.id, found, expected)
                assert abs(error[0] + error[2]) / 2 <= 1, (vehicle.id, found, expected)
                assert abs(error[1] + error[3]) / 2 <= 1, (vehicle.id, found, expected)
                checked += 1
    assert checked >= 15


@pytest.mark.parametrize(("width", "height"), [(320, 180), (640, 480), (854, 480), (1920, 1080)])
def test_the_overlay_never_covers_the_counter(width: int, height: int) -> None:
    options = city_options(4, 3.0, cameras=1, width=width, height=height, fps=5)
    city = build_city(options)
    renderer = CameraRenderer(city, city.cameras[0])
    for index in (0, 7, 14):
        image, _ = renderer.render(index)
        assert read_counter(image) == index
