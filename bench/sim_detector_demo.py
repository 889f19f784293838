"""The demo's analytics on one simulated camera, motion only against the bundled detector.

Renders what ``safecity demo`` serves (seed 7, 640x360, 10 fps, day to night; here one
camera and ``--seconds`` of it), then runs one camera's pipeline in this process on
every second frame (the demo analyses 5 fps) with the demo's configuration and the real
plate reader (``safecity.analytics.main.plate_reader``, one thread): once with no
detector (motion regions become tracks) and once with sim-vehicles. Reports tracks'
classes, plate reads, how many are a true plate of a vehicle that was on the camera,
vehicles with a plate read, and milliseconds per analysed frame (wall clock, the
machine's load included).

    nice .venv/bin/python bench/sim_detector_demo.py [--seconds 60] [--view anpr]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from safecity.analytics.main import plate_reader  # noqa: E402
from safecity.analytics.pipeline import PipelineCamera, build_pipeline  # noqa: E402
from safecity.contracts.analytics import PlateRead, RuleEvent  # noqa: E402
from safecity.contracts.base import Message  # noqa: E402
from safecity.demo.analytics import demo_analytics_config  # noqa: E402
from safecity.demo.clips import VIEW_SIZES  # noqa: E402
from safecity.sim.render import render_city  # noqa: E402
from safecity.vision.detectors import load_detector  # noqa: E402
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR, SIM_VEHICLES  # noqa: E402

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def run(clip: Path, plates: set[str], detector_name: str | None, media: Path) -> dict[str, object]:
    detector = (
        None
        if detector_name is None
        else load_detector(BUNDLED_MODELS_DIR / f"{detector_name}.yaml")
    )
    reader, fuse = plate_reader(1)
    published: list[Message] = []
    config = demo_analytics_config(detector_name)
    pipeline = build_pipeline(
        PipelineCamera("cam-01", media, config, 1), detector, reader, published.append, fuse=fuse
    )
    frames = 0
    start = time.perf_counter()
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % 2:
                continue
            image = np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
            pipeline.process(image, T0 + timedelta(seconds=index / 10))
            frames += 1
    pipeline.flush()
    elapsed = time.perf_counter() - start
    reads = [m for m in published if isinstance(m, PlateRead)]
    events = [m for m in published if isinstance(m, RuleEvent)]
    right = {r.text for r in reads if r.text in plates}
    return {
        "detector": detector_name or "none (motion)",
        "analysed_frames": frames,
        "ms_per_frame": round(elapsed / frames * 1000, 1),
        "event_classes": dict(Counter(e.object_class for e in events if e.object_class)),
        "read_classes": dict(Counter(r.vehicle_class for r in reads)),
        "plate_reads": len(reads),
        "reads_true_plate": sum(r.text in plates for r in reads),
        "vehicles_read": len(right),
        "vehicles_on_camera": len(plates),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--view",
        choices=("overview", "anpr"),
        default="overview",
        help="the demo has both, each at its own size",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        truth = render_city(
            7,
            args.seconds,
            out / "sim",
            cameras=1,
            width=VIEW_SIZES[args.view][0],
            height=VIEW_SIZES[args.view][1],
            fps=10,
            view=args.view,
        )
        plates = {
            v.plate for v in truth.vehicles if any(a.camera_id == "cam-01" for a in v.appearances)
        }
        results = [
            run(out / "sim" / "cam-01.mp4", plates, name, out / "media")
            for name in (None, SIM_VEHICLES)
        ]
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
