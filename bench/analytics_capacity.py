"""How many simulated 640x360 cameras one 2-core machine analyses at 5 frames per second.

Cameras run in real analytics worker processes (``python -m safecity.analytics``),
``--per-process`` cameras to a process, placed and supervised by
``analytics.groups.CameraGroups`` as in the demo. Each camera reads a simulated
clip as a live camera would (paced at the clip's 10 fps, looped), decoding every
frame and analysing 5 of them a second: motion gate, tracker (ByteTrack), rules
(line crossing, zone intrusion, wrong way), and in the ANPR runs the plate
reader (``safecity.vision.plates``, one per process, shared by its cameras
through a bounded job queue) on vehicle tracks. Workers publish their stats,
events and plate reads on a private NATS server, as in production.

After every worker has reported once (warm-up: imports, first frames), the
script takes the counters, waits ``--measure`` seconds and takes them again:

- a camera is *sustained* if it analysed at least 95 % of 5 fps in the window
  and dropped no frame (the bounded queue drops the oldest when analysis lags);
- CPU is the workers' own CPU time over the window (% of one core; there are 2),
  memory their resident set (RSS) and proportional set (PSS: shared pages split
  between the processes that map them) at the end;
- plate jobs dropped: reads the shared plate reader had no time for (oldest dropped);
- plate reads per second and their accuracy (a read is correct if its text is
  the registration of a vehicle in that clip's ground truth);
- per vehicle: vehicles with a correct read (distinct camera and true plate) over the
  vehicles that passed the cameras in the window. Every camera plays the same looped
  clip, so the vehicles that passed are estimated as cameras x readable vehicles of
  the clip x window / clip length (readable: the whole plate is in the frame at some
  point); with ``--measure 30`` the window is one loop and the estimate is close.

Raw decode capacity (the video issue's figure) is measured beside: PyAV
decode of the same clip on one thread, every frame, plus the bgr24 conversion
of the analysed half.

Before the runs, the plate reader's own cost is measured on vehicle boxes of the
ANPR clip (one thread, as in a worker), which says how many plate reads a second
a core can give, whatever the pipeline around it.

    .venv/bin/python bench/analytics_capacity.py [--cameras 8,16,24,32]
        [--anpr-cameras 8,16,32] [--per-process 8] [--measure 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from safecity.analytics.groups import CameraGroups, GroupCommand
from safecity.bus import NatsBus, NatsServer
from safecity.contracts.analytics import PlateRead, RuleEvent
from safecity.contracts.analytics_config import (
    AnalyticsConfigChanged,
    AnalyticsWorkerStats,
    CameraAnalyticsConfig,
)
from safecity.contracts.base import Message
from safecity.sim.truth import GroundTruth, load_ground_truth

TICKS = os.sysconf("SC_CLK_TCK")
ANALYSED_FPS = 5.0
CLIP_SECONDS = 30
CACHE = Path(tempfile.gettempdir()) / "safecity-bench-analytics"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident and proportional set sizes of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("Rss", 0.0), values.get("Pss", 0.0)


def clip(view: str) -> tuple[Path, GroundTruth]:
    from safecity.sim.render import render_city

    folder = CACHE / view
    if not (folder / "ground_truth.json").exists():
        render_city(
            11,
            CLIP_SECONDS,
            folder,
            cameras=1,
            width=640,
            height=360,
            fps=10,
            lighting="day",
            view=view,  # type: ignore[arg-type]
        )
    return next(folder.glob("*.mp4")), load_ground_truth(folder / "ground_truth.json")


def config(plates: bool) -> CameraAnalyticsConfig:
    """The demo's configuration (road, lines, ignore region over the simulator's on-screen
    display: frame counter and camera name change every frame, motion and text a plate
    reader would read) without a detector, at the bench's analysed rate, with its rules:
    a count, an intrusion on the road and wrong way."""
    from safecity.demo.analytics import demo_analytics_config

    demo = demo_analytics_config(None).model_dump()
    return CameraAnalyticsConfig.model_validate(
        {
            **demo,
            "analysed_fps": ANALYSED_FPS,
            "plates": plates,
            "rules": [
                {"kind": "line_crossing", "name": "count", "line": "count"},
                {"kind": "zone_intrusion", "name": "road", "zone": "road"},
                {"kind": "wrong_way", "name": "wrong way", "line": "traffic", "zone": "road"},
            ],
        }
    )


class Collector:
    def __init__(self) -> None:
        self.stats: dict[str, AnalyticsWorkerStats] = {}
        self.plates: list[tuple[float, PlateRead]] = []
        self.events = 0

    async def __call__(self, message: Message) -> None:
        if isinstance(message, AnalyticsWorkerStats):
            self.stats[message.camera_id] = message
        elif isinstance(message, PlateRead):
            self.plates.append((time.monotonic(), message))
        elif isinstance(message, RuleEvent):
            self.events += 1


@dataclass
class Result:
    cameras: int
    per_process: int
    anpr: bool
    sustained: int
    fps_min: float
    fps_mean: float
    dropped: int
    plate_jobs_dropped: int
    cpu_total: float
    cpu_per_camera: float
    rss_per_camera: float
    pss_per_camera: float
    stage_ms: dict[str, float]
    plate_reads: int
    plate_correct: int
    plates_distinct_true: int
    plates_in_clip: int
    vehicles_correct: int
    vehicles_passed: float
    seconds: float


async def run(
    count: int,
    per_process: int,
    anpr: bool,
    measure: float,
    server: NatsServer,
    work: Path,
    run_id: str,
    plate_locator: str = "first",
) -> Result:
    source, truth = clip("anpr" if anpr else "overview")
    message_config = config(anpr)
    bus = await NatsBus.connect(server.url, fetch_wait_seconds=0.25)
    collector = Collector()
    for kind in (AnalyticsWorkerStats, PlateRead, RuleEvent):
        await bus.subscribe(kind, durable=f"bench-{run_id}-{kind.__name__}", handler=collector)
    cameras = [f"bench-{run_id}-{index:02d}" for index in range(count)]
    groups = CameraGroups(
        GroupCommand(
            argv=[
                sys.executable,
                "-m",
                "safecity.analytics",
                f"--media-root={work / 'media'}",
                f"--bus-url={server.url}",
                "--stats-interval=2",
                "--log-level=WARNING",
                f"--plate-locator={plate_locator}",
            ],
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            log_dir=work / "logs",
        ),
        lambda camera: str(source),
        per_process=per_process,
    )
    groups.start()
    try:
        for camera in cameras:
            groups.apply(AnalyticsConfigChanged(camera_id=camera, version=1, config=message_config))
        deadline = time.monotonic() + 120 + 3 * count
        while time.monotonic() < deadline:
            ready = [c for c in cameras if (s := collector.stats.get(c)) and s.frames_analysed]
            if len(ready) == count:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # every worker past its first frames
        pids = [pid for name in groups.groups() if (pid := groups.pid(name)) is not None]
        before = {c: collector.stats[c] for c in cameras}
        cpu_before = {pid: cpu_seconds(pid) for pid in pids}
        started = time.monotonic()
        await asyncio.sleep(measure)
        await asyncio.sleep(2.5)  # one more stats report from everyone
        ended = time.monotonic()
        after = {c: collector.stats[c] for c in cameras}
        cpu = sum(cpu_seconds(pid) - cpu_before[pid] for pid in pids)
        memory = [memory_mb(pid) for pid in pids]
    finally:
        await asyncio.to_thread(groups.stop, 20)
        await bus.close()
    # Stats are published every 2 s: rates come from the reports' own counters and times.
    rates, dropped, plate_drops = [], 0, 0
    for camera in cameras:
        first, last = before[camera], after[camera]
        span = (last.emitted_at - first.emitted_at).total_seconds()
        rates.append((last.frames_analysed - first.frames_analysed) / max(span, 1e-6))
        dropped += last.frames_dropped - first.frames_dropped
        plate_drops += last.plate_jobs_dropped - first.plate_jobs_dropped
    sustained = sum(
        1
        for camera, rate in zip(cameras, rates, strict=True)
        if rate >= 0.95 * ANALYSED_FPS
        and after[camera].frames_dropped == before[camera].frames_dropped
    )
    stages: dict[str, float] = {}
    for stats in after.values():
        for stage, value in stats.stage_ms.items():
            stages[stage] = stages.get(stage, 0.0) + value / count
    window = [read for at, read in collector.plates if started <= at <= ended]
    plates = {vehicle.plate for vehicle in truth.vehicles}
    correct = [read for read in window if read.text in plates]
    readable = sum(1 for v in truth.vehicles if any(a.samples for a in v.appearances))
    span = ended - started
    return Result(
        cameras=count,
        per_process=per_process,
        anpr=anpr,
        sustained=sustained,
        fps_min=min(rates),
        fps_mean=sum(rates) / len(rates),
        dropped=dropped,
        plate_jobs_dropped=plate_drops,
        cpu_total=100 * cpu / (ended - started),
        cpu_per_camera=100 * cpu / (ended - started) / count,
        rss_per_camera=sum(rss for rss, _ in memory) / count,
        pss_per_camera=sum(pss for _, pss in memory) / count,
        stage_ms={k: round(v, 2) for k, v in sorted(stages.items())},
        plate_reads=len(window),
        plate_correct=len(correct),
        plates_distinct_true=len({read.text for read in correct}),
        plates_in_clip=len(plates),
        vehicles_correct=len({(read.camera_id, read.text) for read in correct}),
        vehicles_passed=count * readable * span / truth.duration_s if anpr else 0.0,
        seconds=span,
    )


def reader_cost(samples: int = 30) -> tuple[float, float, int]:
    """Mean wall-clock and CPU milliseconds of one plate read on the largest moving region
    of the ANPR clip (one ONNX Runtime thread, as in a worker), and how many were timed.
    CPU time is what the read costs a core whatever else runs on the machine."""
    import av
    import numpy as np

    from safecity.analytics.main import plate_reader
    from safecity.vision.motion import MotionGate

    reader, _ = plate_reader(threads=1)
    if reader is None:
        return float("nan"), float("nan"), 0
    source, _ = clip("anpr")
    gate = MotionGate()
    timings: list[tuple[float, float]] = []
    warmed = False
    with av.open(str(source)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            image = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
            regions = gate.regions(image)
            if index < 10 or not len(regions):
                continue
            widths = regions.xyxy[:, 2] - regions.xyxy[:, 0]
            x1, y1, x2, y2 = (int(v) for v in regions.xyxy[int(np.argmax(widths))])
            if x2 - x1 < 40:
                continue
            started, cpu = time.perf_counter(), time.thread_time()
            reader.read(image, region=(x1, y1, x2 - x1, y2 - y1))
            timings.append(
                ((time.perf_counter() - started) * 1000, (time.thread_time() - cpu) * 1000)
            )
            if not warmed and len(timings) == 2:
                timings.clear()  # the models load on the first read: warm up on two
                warmed = True
            if warmed and len(timings) >= samples:
                break
    if not timings:
        return float("nan"), float("nan"), 0
    wall = sum(w for w, _ in timings) / len(timings)
    cpu_ms = sum(c for _, c in timings) / len(timings)
    return wall, cpu_ms, len(timings)


def decode_capacity() -> float:
    """Frames per second one thread decodes of the overview clip (all frames, half converted)."""
    import av

    source, _ = clip("overview")
    started, frames = time.perf_counter(), 0
    with av.open(str(source)) as container:
        container.streams.video[0].thread_count = 1
        for index, frame in enumerate(container.decode(video=0)):
            if index % 2 == 0:
                frame.to_ndarray(format="bgr24")
            frames += 1
    return frames / (time.perf_counter() - started)


def per_vehicle(r: Result) -> str:
    if not r.anpr:
        return "-"
    share = r.vehicles_correct / r.vehicles_passed if r.vehicles_passed else 0.0
    return f"{r.vehicles_correct} / {r.vehicles_passed:.0f} ({100 * share:.0f} %)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", default="8,16,24,32")
    parser.add_argument("--anpr-cameras", default="8,16,32")
    parser.add_argument("--per-process", type=int, default=8, help="cameras per worker process")
    parser.add_argument("--measure", type=float, default=20.0)
    parser.add_argument(
        "--plate-locator",
        choices=("off", "first", "only"),
        default="first",
        help="how the groups read vehicle regions (the demo's setting, first by default)",
    )
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    clip("overview")
    if args.anpr_cameras:
        clip("anpr")
        wall, cpu_ms, timed = reader_cost()
        print(
            f"plate reader alone, {timed} moving regions: {wall:.0f} ms a read (wall), "
            f"{cpu_ms:.0f} ms CPU = {1000 / cpu_ms:.1f} reads/s per core"
        )
    decode = decode_capacity()
    print(f"raw decode, one thread: {decode:.0f} frames/s = {decode / 10:.0f} cameras at 10 fps")
    print(f"load average at start: {os.getloadavg()}")
    results = []
    with tempfile.TemporaryDirectory() as folder, NatsServer(Path(folder) / "nats") as server:
        runs = [(int(n), False) for n in args.cameras.split(",") if n]
        runs += [(int(n), True) for n in args.anpr_cameras.split(",") if n]
        for number, (count, anpr) in enumerate(runs):
            result = asyncio.run(
                run(
                    count,
                    args.per_process,
                    anpr,
                    args.measure,
                    server,
                    Path(folder),
                    f"r{number}",
                    args.plate_locator,
                )
            )
            results.append(result)
            print(result, flush=True)
            print(f"load average after this run: {os.getloadavg()}", flush=True)
    print(f"load average at end: {os.getloadavg()}")
    print()
    print(
        "| cameras (per process) | ANPR | sustained (>= 4.75 fps, no drop) | "
        "analysed fps min / mean | frames dropped | plate jobs dropped | "
        "CPU % of a core, total / per camera | RSS / PSS MB per camera | "
        "plate reads/s (correct / all) | distinct true plates read / in clip | "
        "vehicles with a correct read / passed (est.) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        rate = r.plate_reads / r.seconds
        print(
            f"| {r.cameras} ({r.per_process}) | {'yes' if r.anpr else 'no'} | {r.sustained} | "
            f"{r.fps_min:.2f} / {r.fps_mean:.2f} | {r.dropped} | "
            f"{r.plate_jobs_dropped if r.anpr else '-'} | "
            f"{r.cpu_total:.0f} / {r.cpu_per_camera:.1f} | "
            f"{r.rss_per_camera:.0f} / {r.pss_per_camera:.0f} | "
            f"{rate:.2f} ({r.plate_correct} / {r.plate_reads}) | "
            f"{r.plates_distinct_true} / {r.plates_in_clip} | "
            f"{per_vehicle(r)} |"
        )
    print()
    for r in results:
        print(f"stage ms, {r.cameras} cameras, ANPR {r.anpr}: {r.stage_ms}")


if __name__ == "__main__":
    main()
