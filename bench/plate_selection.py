"""Plate reads per vehicle on one camera, without load: which frames the ANPR stage reads.

One camera's pipeline (motion gate, tracker, ANPR stage) runs over the simulator's
"anpr" clip (the one ``analytics_capacity.py`` renders: 640x360, 10 fps, 30 s) at 5
analysed frames a second, with the real plate reader called inline (one ONNX Runtime
thread). Nothing else competes for the reader, so this isolates the stage's choice of
frames from the machine's load: it counts the reader's calls, the reads published,
how many are a true registration of the clip, and how many of the clip's readable
vehicles (the whole plate in the picture at some point) got a correct read.

    .venv/bin/python bench/plate_selection.py
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import av
import numpy as np

from analytics_capacity import CACHE, clip, config
from safecity.analytics.main import plate_reader
from safecity.analytics.pipeline import PipelineCamera, build_pipeline
from safecity.contracts.analytics import PlateRead
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.contracts.base import Message

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


class _Counting:
    """The reader, counting its calls and their CPU time."""

    def __init__(self, reader: object) -> None:
        self._reader = reader
        self.calls = 0
        self.cpu = 0.0

    def read(self, image_bgr: np.ndarray, region: tuple[int, int, int, int] | None = None) -> list:  # type: ignore[type-arg]
        self.calls += 1
        started = time.thread_time()
        try:
            return list(self._reader.read(image_bgr, region=region))  # type: ignore[attr-defined]
        finally:
            self.cpu += time.thread_time() - started


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    source, truth = clip("anpr")
    reader, fuse = plate_reader(threads=1)
    if reader is None or fuse is None:
        raise SystemExit("safecity.vision.plates is not installed")
    counting = _Counting(reader)
    published: list[Message] = []
    settings: CameraAnalyticsConfig = config(True)
    pipeline = build_pipeline(
        PipelineCamera("bench-cam", CACHE / "selection-media", settings, 1),
        None,
        counting,
        published.append,
        fuse=fuse,
    )
    started = time.perf_counter()
    with av.open(str(source)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % 2:
                continue
            image = np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
            pipeline.process(image, T0 + timedelta(seconds=index / truth.fps))
    pipeline.flush()
    wall = time.perf_counter() - started
    reads = [m for m in published if isinstance(m, PlateRead)]
    plates = {v.plate for v in truth.vehicles}
    readable = {v.plate for v in truth.vehicles if any(a.samples for a in v.appearances)}
    correct = [r for r in reads if r.text in plates]
    stage = pipeline.plates
    print(f"load average: {os.getloadavg()}")
    print(
        f"reader calls {counting.calls} ({1000 * counting.cpu / max(1, counting.calls):.0f} ms "
        f"CPU each), reads published {len(reads)}, correct {len(correct)}, "
        f"vehicles with a correct read {len({r.text for r in correct})} of {len(readable)} "
        f"readable, correct vehicles per 10 reader calls "
        f"{10 * len({r.text for r in correct}) / max(1, counting.calls):.2f}; {wall:.0f} s"
    )
    skipped = getattr(stage, "skipped", None)
    if skipped is not None:
        print(f"frames not read: {skipped}, superseded {getattr(stage, 'superseded', 0)}")
    for read in reads:
        print(f"  {read.text:10} {'ok' if read.text in plates else '--'} frames {read.frames}")


if __name__ == "__main__":
    main()
