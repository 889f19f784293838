"""Plate reads per vehicle with a reader that has time for only so many reads, without load.

Several cameras' pipelines (motion gate, tracker, ANPR stage) run over the simulator's
"anpr" clip (the one ``analytics_capacity.py`` renders: 640x360, 10 fps, 30 s; each
camera starts at another point of the loop) at 5 analysed frames a second, sharing one
queue of plate jobs like a worker process's ``SharedPlateReader``. Instead of a thread
racing the machine's load, the reader here runs in step with the video: it reads at
most ``--reads-per-second`` jobs per second of video, whatever the queue holds. The
same budget therefore gives the same figures on a quiet or a busy machine, and the
ANPR stage's choice of frames is what is measured: the reader's calls, the reads
published, how many are a true registration of the clip, and how many of the vehicles
that passed the cameras (readable ones: the whole plate in the picture at some point)
got a correct read.

With ``--truth-boxes`` it measures the reader's own ceiling on the clip instead: each
readable vehicle's ground-truth box is read on the (up to five) frames the ground truth
samples, and it counts the vehicles read correctly on any of them.

    .venv/bin/python bench/plate_selection.py [--cameras 8] [--reads-per-second 1,2,4,inf]
    .venv/bin/python bench/plate_selection.py --truth-boxes
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from analytics_capacity import CACHE, clip, config
from safecity.analytics import plate_jobs
from safecity.analytics.main import plate_reader
from safecity.analytics.pipeline import CameraPipeline, PipelineCamera, build_pipeline
from safecity.contracts.analytics import PlateRead
from safecity.contracts.base import Message

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ANALYSED_EVERY = 2  # of the clip's 10 fps: 5 analysed frames a second


class SteppedReader:
    """A plate-job sink with the shared reader's queue, read in step with the video."""

    def __init__(self, reader: Any, capacity: int) -> None:
        self._reader = reader
        self._queue = plate_jobs._JobQueue(capacity)
        self.calls = 0
        self.dropped = 0
        self.cpu = 0.0

    def submit(self, job: plate_jobs.PlateJob) -> None:
        evicted = self._queue.put(job)
        if evicted is not None:
            self.dropped += 1
            evicted.deliver(None)

    def replace(self, job: plate_jobs.PlateJob) -> bool:
        replace = getattr(self._queue, "replace", None)  # absent before jobs could be replaced
        return bool(replace(job)) if replace is not None else False

    def run_one(self) -> bool:
        job = self._queue.get(0)
        if job is None:
            return False
        started = time.thread_time()
        readings: Sequence[Any] = self._reader.read(job.image, region=job.region)
        self.cpu += time.thread_time() - started
        self.calls += 1
        job.deliver(readings)
        return True


def frames() -> list[npt.NDArray[np.uint8]]:
    source, _ = clip("anpr")
    with av.open(str(source)) as container:
        return [
            np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
            for index, frame in enumerate(container.decode(video=0))
            if index % ANALYSED_EVERY == 0
        ]


def run(cameras: int, reads_per_second: float, images: list[npt.NDArray[np.uint8]]) -> str:
    _, truth = clip("anpr")
    reader, fuse = plate_reader(threads=1)
    if reader is None or fuse is None:
        raise SystemExit("safecity.vision.plates is not installed")
    sink = SteppedReader(reader, capacity=8)
    published: list[Message] = []
    pipelines: list[CameraPipeline] = [
        build_pipeline(
            PipelineCamera(f"cam-{k:02d}", CACHE / "selection-media", config(True), 1),
            None,
            None,
            published.append,
            fuse=fuse,
            plate_jobs=sink,
        )
        for k in range(cameras)
    ]
    step_seconds = ANALYSED_EVERY / truth.fps
    steps = len(images)  # one loop of the clip per camera
    for step in range(steps):
        at = T0 + timedelta(seconds=step * step_seconds)
        for k, pipeline in enumerate(pipelines):
            offset = (k * len(images)) // max(1, cameras)
            pipeline.process(images[(step + offset) % len(images)], at)
        allowed = math.inf if math.isinf(reads_per_second) else (step + 1) * step_seconds
        while sink.calls < allowed * reads_per_second and sink.run_one():
            pass
    for pipeline in pipelines:
        pipeline.flush()
    reads = [m for m in published if isinstance(m, PlateRead)]
    plates = {v.plate for v in truth.vehicles}
    readable = sum(1 for v in truth.vehicles if any(a.samples for a in v.appearances))
    correct = [r for r in reads if r.text in plates]
    vehicles = len({(r.camera_id, r.text) for r in correct})
    passed = cameras * readable
    skipped: dict[str, int] = {}
    for pipeline in pipelines:
        for reason, count in getattr(pipeline.plates, "skipped", {}).items():
            skipped[reason] = skipped.get(reason, 0) + count
    budget = "no limit" if math.isinf(reads_per_second) else f"{reads_per_second:g}"
    return (
        f"| {cameras} | {budget} | {sink.calls} | {sink.dropped} | {len(correct)} / {len(reads)} "
        f"| {vehicles} / {passed} ({100 * vehicles / passed:.1f} %) "
        f"| {len({r.text for r in correct})} | {skipped or '-'} |"
    )


def truth_boxes() -> None:
    """How many vehicles the reader reads correctly when given their true boxes."""
    source, truth = clip("anpr")
    reader, _ = plate_reader(threads=1)
    if reader is None:
        raise SystemExit("safecity.vision.plates is not installed")
    with av.open(str(source)) as container:
        every = [np.asarray(f.to_ndarray(format="bgr24"), np.uint8) for f in container.decode(0)]
    readable = correct = calls = 0
    for vehicle in truth.vehicles:
        samples = [s for a in vehicle.appearances for s in a.samples]
        readable += bool(samples)
        texts = set()
        for sample in samples:
            box = sample.vehicle_box
            calls += 1
            found = reader.read(every[sample.frame], region=(box.x, box.y, box.w, box.h))
            texts |= {str(read.text) for read in found}
        correct += vehicle.plate in texts
    print(f"true boxes: {calls} reads, {correct} of {readable} readable vehicles read correctly")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--reads-per-second", default="1,2,4,inf")
    parser.add_argument("--truth-boxes", action="store_true", help="the reader's own ceiling")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.truth_boxes:
        truth_boxes()
        return
    images = frames()
    print(f"load average at start: {os.getloadavg()}")
    print(
        "| cameras | reads/s of video | reader calls | jobs dropped | reads correct / all "
        "| vehicles with a correct read / passed | distinct true plates | frames not read |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for budget in args.reads_per_second.split(","):
        print(run(args.cameras, float(budget), images), flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
