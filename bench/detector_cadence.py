"""How often the detector runs, and what a frame costs, with and without the cadence.

One camera's pipeline (``analytics.pipeline``) with YOLOX-nano from ``../shared/models``,
run in this process on two sequences, frame by frame in step with the video (so the
counts do not depend on the machine's load; the CPU figures do, a little):

- ``sim``: the ZoneMinder side by side's camera (the simulator's corridor, ANPR view,
  1280x720, 15 fps, plated traffic moving all the time; ``bench/modect_clips.py``), every
  third frame analysed (5 fps), with the demo's configuration. YOLOX-nano finds no
  vehicle in these drawn frames, so this shows the gate on motion that never becomes
  a detection.
- ``street``: a car cut from a real street photo driven across that street, one way and
  then back (``tests/analytics/street_sequence.py``; 1280x720 at 5 analysed fps): the
  detector finds the car, the tracker follows it, the line is crossed twice.

For each ``detector_refresh_seconds`` (0 is the detector on every frame with motion, as
before the cadence): frames analysed, frames with motion or live tracks, detector runs
by reason, frames skipped, CPU milliseconds a frame of the whole pipeline (process time,
  the detector's threads included),
the detect stage (detector or following) in ms a frame, line crossings, and on the street
how well the best track box fits the moving car (IoU with its true box, mean and least,
over the frames the car is wholly in view).

    .venv/bin/python bench/detector_cadence.py [--refresh 0,1,2] [--models-dir ../shared/models]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.analytics: the street

from safecity.analytics.pipeline import CameraPipeline, PipelineCamera, build_pipeline
from safecity.contracts.analytics import RuleEvent
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.contracts.base import Message
from safecity.vision.detectors import Detector, load_detector
from safecity.vision.detectors.manifest import sha256_of

T0 = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
DEFAULT_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
Box = tuple[int, int, int, int]
Frame = tuple[npt.NDArray[np.uint8], datetime, Box | None]
"""An analysed frame, its time, and the moving car's true box where known."""


def yolox(models: Path, folder: Path) -> Detector:
    model = models / "yolox-nano" / "yolox_nano.onnx"
    names = models / "yolo-fastest" / "coco.names"
    classes = [line.strip() for line in names.read_text().splitlines() if line.strip()]
    manifest = folder / "yolox-nano.yaml"
    manifest.write_text(
        json.dumps(
            {
                "backend": "onnx_yolo",
                "file": str(model),
                "sha256": sha256_of(model),
                "input_width": 416,
                "input_height": 416,
                "layout": "yolox",
                "classes": classes,
                "licence": "Apache-2.0 (upstream YOLOX)",
            }
        )
    )
    return load_detector(manifest)


def sim_frames(seconds: float) -> Iterator[Frame]:
    from modect_clips import camera_clips

    clip = camera_clips(Path(tempfile.gettempdir()) / "safecity-bench-zm-modect", 1)[0]
    with av.open(str(clip.path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index / 15 >= seconds:
                break
            if index % 3 == 0:
                image = np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
                yield image, T0 + timedelta(seconds=index / 15), None


def street_frames(shared: Path) -> Iterator[Frame]:
    from tests.analytics.street_sequence import street_sequence

    for index, shot in enumerate(street_sequence(shared)):
        whole = shot.car is not None and shot.car[0] >= 120 and shot.car[2] <= 1160
        yield shot.image, T0 + timedelta(seconds=index / 5), shot.car if whole else None


def sim_config() -> CameraAnalyticsConfig:
    from safecity.demo.analytics import demo_analytics_config

    return demo_analytics_config("yolox-nano")


def street_config() -> CameraAnalyticsConfig:
    return CameraAnalyticsConfig.model_validate(
        {
            "enabled": True,
            "analysed_fps": 5,
            "detector": "yolox-nano",
            "zones": [{"name": "lane", "points": [[0, 0.75], [1, 0.75], [1, 1], [0, 1]]}],
            "lines": [{"name": "middle", "start": [0.5, 0.7], "end": [0.5, 1.0]}],
            "rules": [
                {"kind": "line_crossing", "name": "count", "line": "middle", "classes": ["car"]},
                {"kind": "zone_intrusion", "name": "lane", "zone": "lane", "classes": ["car"]},
            ],
        }
    )


def measure(
    name: str, frames: list[Frame], config: CameraAnalyticsConfig, detector: Detector, work: Path
) -> dict[str, object]:
    published: list[Message] = []
    pipeline: CameraPipeline = build_pipeline(
        PipelineCamera("bench-cadence", work, config, 1), detector, None, published.append
    )
    cpu, started = time.process_time(), time.perf_counter()
    overlaps: list[float] = []
    for image, at, car in frames:
        pipeline.process(image, at)
        if car is not None:
            # How well the best track box fits the car (a miss counts 0).
            overlaps.append(max((iou(box, car) for box in pipeline.tracks.xyxy), default=0.0))
    cpu_ms = (time.process_time() - cpu) * 1000 / len(frames)
    wall_s = time.perf_counter() - started
    counters = pipeline.counters
    runs = sum(counters.detector_runs.values())
    crossings = [
        f"{m.direction}#{m.track_id}"
        for m in published
        if isinstance(m, RuleEvent) and m.kind == "line_crossing"
    ]
    return {
        "sequence": name,
        "refresh_s": config.detector_refresh_seconds,
        "frames": counters.frames,
        "detector_runs": runs,
        "runs_by_reason": dict(sorted(counters.detector_runs.items())),
        "skipped": counters.detector_skipped,
        "runs_per_s": round(runs / (counters.frames / config.analysed_fps), 2),
        "cpu_ms_per_frame": round(cpu_ms, 1),
        "detect_stage_ms": pipeline.timings.means().get("detect"),
        "wall_s": round(wall_s, 1),
        "line_crossings": crossings if len(crossings) <= 6 else len(crossings),
        "events": sum(isinstance(m, RuleEvent) for m in published),
        "car_iou_mean": round(sum(overlaps) / len(overlaps), 3) if overlaps else None,
        "car_iou_min": round(min(overlaps), 3) if overlaps else None,
    }


def iou(a: npt.NDArray[np.float32], b: Box) -> float:
    x1, y1 = max(float(a[0]), b[0]), max(float(a[1]), b[1])
    x2, y2 = min(float(a[2]), b[2]), min(float(a[3]), b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = float((a[2] - a[0]) * (a[3] - a[1])) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", default="0,1,2", help="detector_refresh_seconds values")
    parser.add_argument("--sim-seconds", type=float, default=60.0)
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    shared = args.models_dir.resolve().parent
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        detector = yolox(args.models_dir, work)
        sequences = [
            ("sim", list(sim_frames(args.sim_seconds)), sim_config()),
            ("street", list(street_frames(shared)), street_config()),
        ]
        for name, frames, config in sequences:
            for refresh in (float(value) for value in args.refresh.split(",") if value):
                changed = config.model_copy(update={"detector_refresh_seconds": refresh})
                print(json.dumps(measure(name, frames, changed, detector, work)), flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
