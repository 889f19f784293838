"""Side by side with ZoneMinder in motion-detection mode: cameras per machine, one run.

One command, one machine, the same simulated cameras for both systems: the
simulator's corridor rendered in its ANPR view at 1280x720, 15 fps (plated
traffic, continuous motion; ``modect_clips.py``), each camera its own shifted
copy, looped by the project's RTSP server on 127.0.0.1. For each step N:

1. ZoneMinder records and analyses N cameras in Modect (``zm_peer.py``: every
   frame decoded, pixel motion on the default "All" zone, passthrough recording);
2. then safecity does the same N cameras as the demo runs them: ingest groups
   of ``--ingest-per-process`` cameras a process (``IngestGroups``, ``python -m
   safecity.ingest --group``: stream-copy recording in 10 s segments, key-frame
   image checks; ``0``: a process per camera, the layout before groups) and analytics worker
   processes of ``--per-process`` cameras (``CameraGroups``: motion gate, object
   detection with the YOLOX-nano manifest written from ``--models-dir``,
   ByteTrack, rules, ANPR) at 5 analysed fps, on a private NATS server.
   safecity runs once per step and variant (``--variants``): with YOLOX-nano (a
   COCO detector that does not see the simulator's drawn vehicles, so no vehicle
   track reaches the plate reader), with the package's ``sim-vehicles`` detector
   (trained on the simulator's renders: vehicles detected, tracked and read, the
   goal's whole configuration), or without a detector (tracks of motion regions).

Both get the same warm-up and window. CPU is utime+stime from /proc summed over
every process of each system (% of one core; the machine has 2), memory the sum
of RSS and PSS from /proc/PID/smaps_rollup at the end of the window. Analysed
fps: ZoneMinder's AnalysisFPS (Monitor_Status; it analyses every captured
frame), safecity's analytics workers' own counters. A system *keeps up* with a
camera when its analysis holds 95 % of its rate (ZoneMinder 15 fps, safecity
5 fps) and it drops nothing (safecity counts dropped frames; ZoneMinder counts
none, so a capture below 95 % of 15 fps fails it too). A step is *sustained*
when every camera keeps up; cameras per machine is the largest sustained N.
A system is not stepped past its first unsustained N (``--keep-stepping``).

Prerequisites (checked, never installed here): ZoneMinder and its database as
in ``../shared/peers/zoneminder.md`` (steps 1 and 4), GStreamer's RTSP server
(``scripts/setup.sh``), the models folder. ZoneMinder's events of the run are
deleted after their recordings are probed.

    .venv/bin/python bench/zm_modect.py --cameras 2,4            # validation, ~12 min
    .venv/bin/python bench/zm_modect.py                          # full stepping
        [--zm-cameras 8,12,16,20,24] [--safecity-cameras 16,20,24,26,28,32]
        [--warmup 30] [--measure 60] [--per-process 8] [--ingest-per-process 8]
        [--variants both]

Each step takes about 2 minutes (30 s warm-up, 60 s window, start, stop, probing):
the full stepping at most 17 steps, 35 minutes, fewer where a system saturates early;
the first run also renders the clips (about 1-2 minutes, kept in /tmp).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TypeVar

from modect_clips import FPS, CameraClip, camera_clips
from safecity.analytics.groups import CameraGroups, GroupCommand
from safecity.bus import NatsBus, NatsServer
from safecity.contracts.analytics import PlateRead
from safecity.contracts.analytics_config import (
    AnalyticsConfigChanged,
    AnalyticsWorkerStats,
    CameraAnalyticsConfig,
)
from safecity.contracts.base import Message
from safecity.contracts.ingest import CameraHealth, SegmentClosed
from safecity.core import processes
from safecity.ingest.groups import IngestCamera, IngestGroups
from safecity.sim.rtsp import RtspMount, RtspServer
from zm_peer import (
    ZmResult,
    machine_busy_ticks,
    measure_zoneminder,
    memory_mb,
    probe_recordings,
    unavailable_reason,
)

TICKS = os.sysconf("SC_CLK_TCK")
ANALYSED_FPS = 5.0
KEEP_UP = 0.95
CACHE = Path(tempfile.gettempdir()) / "safecity-bench-zm-modect"
DEFAULT_MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
DETECTOR = "yolox-nano"
SIM_DETECTOR = "sim-vehicles"
"""The package's detector trained on the simulator's renders (vision/detectors/models)."""
STATS_SECONDS = 2.0
# safecity's variants: YOLOX-nano (a COCO model that does not see the simulator's drawn
# vehicles), the package's detector trained on the simulator, and motion tracks alone.
VARIANTS: dict[str | None, str] = {
    DETECTOR: "safecity, motion gate + YOLOX-nano + ANPR",
    SIM_DETECTOR: "safecity, motion gate + sim-vehicles detector + ANPR",
    None: "safecity, motion gate + ANPR on motion tracks",
}
VARIANT_CHOICES: dict[str, list[str | None]] = {
    "both": [DETECTOR, None],
    "detector": [DETECTOR],
    "motion": [None],
    "sim": [SIM_DETECTOR],
    "all": [DETECTOR, SIM_DETECTOR, None],
}
KEPT_CLASSES = frozenset({"person", "bicycle", "car", "motorbike", "motorcycle", "bus", "truck"})


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- prerequisites ---------------------------------------------------------------------------


def write_manifest(models: Path, folder: Path) -> Path:
    """The YOLOX-nano manifest (``<folder>/yolox-nano.yaml``), loaded once to prove it works."""
    from safecity.vision.detectors import load_detector
    from safecity.vision.detectors.manifest import sha256_of

    model = models / "yolox-nano" / "yolox_nano.onnx"
    names = models / "yolo-fastest" / "coco.names"
    if not model.is_file() or not names.is_file():
        raise SystemExit(f"the detector model is missing: {model} and {names} are needed")
    classes = [line.strip() for line in names.read_text().splitlines() if line.strip()]
    body = {
        "backend": "onnx_yolo",
        "file": str(model),
        "sha256": sha256_of(model),
        "input_width": 416,
        "input_height": 416,
        "layout": "yolox",
        "classes": classes,
        # Darknet's coco.names says "motorbike" where other lists say "motorcycle".
        "keep_classes": [name for name in classes if name in KEPT_CLASSES],
        "licence": "Apache-2.0 (upstream YOLOX)",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{DETECTOR}.yaml"
    path.write_text(json.dumps(body))  # JSON is YAML
    load_detector(path)
    # Beside it the package's own detector for the simulator's vehicles, as shipped.
    from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR

    for shipped in BUNDLED_MODELS_DIR.glob(f"{SIM_DETECTOR}.*"):
        shutil.copy2(shipped, folder / shipped.name)
    load_detector(folder / f"{SIM_DETECTOR}.yaml")
    return folder


def check_prerequisites(models: Path, *, zoneminder: bool = True) -> None:
    from safecity.analytics.main import plate_reader
    from safecity.sim.rtsp import gstreamer_unavailable_reason

    # ZoneMinder only where it is measured (``--zm-cameras ""`` measures safecity alone).
    peer = unavailable_reason() if zoneminder else None
    problems = [reason for reason in (peer, gstreamer_unavailable_reason()) if reason is not None]
    if not (models / "yolox-nano" / "yolox_nano.onnx").is_file():
        problems.append(f"no YOLOX-nano model under {models} (pass --models-dir)")
    reader, _ = plate_reader()
    if reader is None:
        problems.append("the plate reader (safecity.vision.plates) is not installed")
    if problems:
        print("cannot run the side by side:\n- " + "\n- ".join(problems), file=sys.stderr)
        sys.exit(2)


# -- safecity --------------------------------------------------------------------------------


@dataclass
class Collected:
    """What the workers publish, each message with the time it arrived here."""

    stats: dict[str, list[tuple[float, AnalyticsWorkerStats]]] = field(default_factory=dict)
    health: dict[str, list[tuple[float, CameraHealth]]] = field(default_factory=dict)
    plates: list[tuple[float, PlateRead]] = field(default_factory=list)
    segments: list[tuple[float, SegmentClosed]] = field(default_factory=list)

    async def __call__(self, message: Message) -> None:
        now = time.monotonic()
        if isinstance(message, AnalyticsWorkerStats):
            self.stats.setdefault(message.camera_id, []).append((now, message))
        elif isinstance(message, CameraHealth):
            self.health.setdefault(message.camera_id, []).append((now, message))
        elif isinstance(message, PlateRead):
            self.plates.append((now, message))
        elif isinstance(message, SegmentClosed):
            self.segments.append((now, message))


@dataclass(frozen=True)
class OursResult:
    variant: str
    cameras: int
    processes: int
    ingest_processes: int
    ingest_cpu_percent: float
    ingest_rss_mb: float
    ingest_pss_mb: float
    cpu_percent: float
    rss_mb: float
    pss_mb: float
    rss_growth_mb_per_s: float
    analysed_fps_min: float
    analysed_fps_mean: float
    frames_dropped: int
    kept_up: int
    received_fps_min: float
    ingest_frames_dropped: int
    segments: int
    playable: int
    recorded_files: int
    plate_jobs_dropped: int
    plate_reads: int
    plate_correct: int
    plates_distinct_true: int
    plates_passing: int
    detector: str
    stage_ms: dict[str, float]
    nats_cpu_percent: float
    server_cpu_percent: float
    seconds: float
    others_cpu_percent: float


def analytics_config(
    detector: str | None, detector_refresh: float | None = None
) -> CameraAnalyticsConfig:
    """The demo's analytics configuration (road zone, counting line, wrong way, crowd,
    the on-screen display ignored) with plates on, at 5 analysed fps; ``detector_refresh``
    replaces its ``detector_refresh_seconds`` (0: the detector on every frame with motion)."""
    from safecity.demo.analytics import demo_analytics_config

    config = demo_analytics_config(detector)
    if detector_refresh is not None:
        config = config.model_copy(update={"detector_refresh_seconds": detector_refresh})
    if not config.plates or config.analysed_fps != ANALYSED_FPS:
        raise RuntimeError("the demo's analytics configuration no longer reads plates at 5 fps")
    return config


INGEST_ARGS = ["--segment-seconds", "10", "--health-interval", str(STATS_SECONDS)]


def start_ingest(
    url_of: dict[str, str], media: Path, bus_url: str, logs: Path, per_process: int
) -> IngestGroups:
    """The cameras' ingest as ``safecity up`` starts it: groups of ``per_process`` cameras a
    process, each told its cameras (stream URLs included) over its stdin, supervised."""
    groups = IngestGroups(
        GroupCommand(
            argv=[
                sys.executable,
                "-m",
                "safecity.ingest",
                f"--media-root={media}",
                f"--bus-url={bus_url}",
                *INGEST_ARGS,
                "--log-level=WARNING",
            ],
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            log_dir=logs,
        ),
        lambda code: IngestCamera(code, url_of[code], "continuous") if code in url_of else None,
        per_process=per_process,
    )
    groups.start()
    for camera, url in url_of.items():
        groups.apply(IngestCamera(camera, url, "continuous"))
    return groups


def start_camera_worker(
    camera: str, url: str, media: Path, bus_url: str, logs: Path
) -> subprocess.Popen[bytes]:
    """One camera's own ingest process (``--camera-id``, the URL in its environment): the
    layout before ingest groups, kept to compare against (``--ingest-per-process 0``)."""
    from safecity.ingest.worker import STREAM_URL_ENV

    with (logs / f"ingest-{camera}.log").open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "safecity.ingest",
                "--camera-id",
                camera,
                "--media-root",
                str(media),
                "--bus-url",
                bus_url,
                *INGEST_ARGS,
                "--log-level",
                "WARNING",
            ],
            env={**os.environ, STREAM_URL_ENV: url, "OMP_NUM_THREADS": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


T = TypeVar("T")


def bracket(reports: list[tuple[float, T]], started: float, ended: float) -> tuple[T, T] | None:
    """The last report that arrived before the window and the first after it (or the
    nearest ones inside it), None without two distinct reports."""
    if not reports:
        return None
    before = [message for at, message in reports if at <= started]
    after = [message for at, message in reports if at >= ended]
    first = before[-1] if before else reports[0][1]
    last = after[0] if after else reports[-1][1]
    return None if first is last else (first, last)


@dataclass(frozen=True)
class Safecity:
    """Where safecity's workers run: the bus, the detector manifests, a scratch folder."""

    bus_url: str
    nats_pid: int
    models_dir: Path
    per_process: int
    work: Path
    detector: str | None
    ingest_per_process: int = 8
    """Cameras per ingest process; 0: a process per camera, as before ingest groups."""
    detector_refresh: float | None = None
    plate_locator: str = "first"
    """How the workers' plate reader finds plates (``--plate-locator`` of the worker)."""
    plate_unsmear: bool = True
    """False: the workers do not unsmear located plates (``--no-plate-unsmear``)."""


async def measure_safecity(
    urls: list[str],
    clips: list[CameraClip],
    setup: Safecity,
    server_pid: int,
    warmup: float,
    window: float,
) -> OursResult:
    """Record and analyse ``urls`` with safecity: start, warm up, measure, stop, probe."""
    step = f"{setup.detector or 'motion'}{len(urls)}"
    config = analytics_config(setup.detector, setup.detector_refresh)
    media, logs = setup.work / f"media-{step}", setup.work / f"logs-{step}"
    media.mkdir(parents=True)
    logs.mkdir(parents=True)
    cameras = [f"modect-{step}-{index + 1:02d}" for index in range(len(urls))]
    url_of = dict(zip(cameras, urls, strict=True))
    bus = await NatsBus.connect(setup.bus_url, fetch_wait_seconds=0.25)
    collected = Collected()
    for kind in (AnalyticsWorkerStats, CameraHealth, PlateRead, SegmentClosed):
        await bus.subscribe(kind, durable=f"modect-{step}-{kind.__name__}", handler=collected)
    groups = CameraGroups(
        GroupCommand(
            argv=[
                sys.executable,
                "-m",
                "safecity.analytics",
                f"--media-root={media}",
                f"--bus-url={setup.bus_url}",
                f"--models-dir={setup.models_dir}",
                f"--stats-interval={STATS_SECONDS}",
                f"--plate-locator={setup.plate_locator}",
                *([] if setup.plate_unsmear else ["--no-plate-unsmear"]),
                "--log-level=WARNING",
            ],
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            log_dir=logs,
        ),
        url_of.get,
        per_process=setup.per_process,
    )
    own: list[subprocess.Popen[bytes]] = []
    ingest: IngestGroups | None = None
    try:
        if setup.ingest_per_process > 0:
            ingest = start_ingest(url_of, media, setup.bus_url, logs, setup.ingest_per_process)
        else:
            own = [
                start_camera_worker(camera, url_of[camera], media, setup.bus_url, logs)
                for camera in cameras
            ]
        groups.start()
        for camera in cameras:
            groups.apply(AnalyticsConfigChanged(camera_id=camera, version=1, config=config))
        await asyncio.sleep(warmup)
        pids = [process.pid for process in own if process.poll() is None]
        if ingest is not None:
            pids += [pid for name in ingest.groups() if (pid := ingest.pid(name)) is not None]
        ingest_pids = len(pids)
        pids += [pid for name in groups.groups() if (pid := groups.pid(name)) is not None]
        cpu_before = {pid: cpu_ticks(pid) for pid in pids}
        rss_before = sum(memory_mb(pid)[0] for pid in pids)
        nats_before, server_before = cpu_ticks(setup.nats_pid), cpu_ticks(server_pid)
        busy_before = machine_busy_ticks()
        started = time.monotonic()
        await asyncio.sleep(window)
        ended = time.monotonic()
        busy = machine_busy_ticks() - busy_before
        used = [cpu_ticks(pid) - cpu_before[pid] for pid in pids]
        memory = [memory_mb(pid) for pid in pids]
        nats_used = cpu_ticks(setup.nats_pid) - nats_before
        server_used = cpu_ticks(server_pid) - server_before
        await asyncio.sleep(STATS_SECONDS + 1)  # the reports that close the window
    finally:
        await asyncio.to_thread(groups.stop, 20)
        if ingest is not None:
            await asyncio.to_thread(ingest.stop, 20)
        await asyncio.to_thread(processes.terminate_all, own, 20)
        await bus.close()
    return summarise(
        Window(
            cameras,
            clips,
            started,
            ended,
            len(pids),
            ingest_pids,
            used,
            memory,
            rss_before,
            VARIANTS[setup.detector],
            busy - sum(used) - nats_used - server_used,
        ),
        collected,
        media,
        nats_used,
        server_used,
    )


@dataclass(frozen=True)
class Window:
    """What was measured of safecity's processes over the window."""

    cameras: list[str]
    clips: list[CameraClip]
    started: float
    ended: float
    processes: int
    ingest_processes: int
    """The first ``ingest_processes`` of ``cpu_ticks`` and ``memory`` are ingest workers'."""
    cpu_ticks: list[int]
    memory: list[tuple[float, float]]
    rss_before: float
    variant: str
    others_ticks: int
    """CPU the rest of the machine used in the window (not safecity, its bus or the cameras)."""


def summarise(
    window: Window, collected: Collected, media: Path, nats_used: int, server_used: int
) -> OursResult:
    """Rates, drops and plate reads of the window from the workers' own reports."""
    cameras, clips, started, ended = window.cameras, window.clips, window.started, window.ended
    clip_of = dict(zip(cameras, clips, strict=True))
    memory, used = window.memory, sum(window.cpu_ticks)
    ingest = window.ingest_processes
    elapsed = ended - started
    rates: list[float] = []
    received: list[float] = []
    dropped = plate_drops = ingest_dropped = kept_up = 0
    stages: dict[str, float] = {}
    detectors: set[str] = set()
    for camera in cameras:
        keeps_up = False
        pair = bracket(collected.stats.get(camera, []), started, ended)
        if pair is None:
            rates.append(0.0)
        else:
            first, last = pair
            span = (last.emitted_at - first.emitted_at).total_seconds()
            rate = (last.frames_analysed - first.frames_analysed) / span if span > 0 else 0.0
            drops = last.frames_dropped - first.frames_dropped
            rates.append(rate)
            dropped += drops
            plate_drops += last.plate_jobs_dropped - first.plate_jobs_dropped
            for stage, value in last.stage_ms.items():
                stages[stage] = stages.get(stage, 0.0) + value / len(cameras)
            error = last.detector_error
            detectors.add(last.detector or ("none" if error is None else f"none: {error}"))
            keeps_up = rate >= KEEP_UP * ANALYSED_FPS and drops == 0
        health = [m for at, m in collected.health.get(camera, []) if started <= at <= ended]
        received.append(min((m.fps for m in health), default=0.0))
        if len(health) >= 2:
            ingest_dropped += health[-1].frames_dropped - health[0].frames_dropped
        streaming = bool(health) and all(m.state == "streaming" for m in health)
        kept_up += keeps_up and streaming and received[-1] >= KEEP_UP * FPS
    recordings = probe_recordings(sorted(media.rglob("*.mp4")))
    reads = [read for at, read in collected.plates if started <= at <= ended]
    correct = [read for read in reads if read.text in clip_of[read.camera_id].plates]
    passing: set[str] = set().union(*(clip.plates for clip in clips))
    rss_total = sum(rss for rss, _ in memory)
    return OursResult(
        variant=window.variant,
        cameras=len(cameras),
        processes=window.processes,
        ingest_processes=ingest,
        ingest_cpu_percent=100 * sum(window.cpu_ticks[:ingest]) / TICKS / elapsed,
        ingest_rss_mb=sum(rss for rss, _ in memory[:ingest]),
        ingest_pss_mb=sum(pss for _, pss in memory[:ingest]),
        cpu_percent=100 * used / TICKS / elapsed,
        rss_mb=rss_total,
        pss_mb=sum(pss for _, pss in memory),
        rss_growth_mb_per_s=(rss_total - window.rss_before) / elapsed,
        analysed_fps_min=min(rates),
        analysed_fps_mean=sum(rates) / len(rates),
        frames_dropped=dropped,
        kept_up=kept_up,
        received_fps_min=min(received),
        ingest_frames_dropped=ingest_dropped,
        segments=sum(1 for at, _ in collected.segments if started <= at <= ended),
        playable=recordings.playable,
        recorded_files=recordings.files,
        plate_jobs_dropped=plate_drops,
        plate_reads=len(reads),
        plate_correct=len(correct),
        plates_distinct_true=len({read.text for read in correct}),
        plates_passing=len(passing),
        detector=", ".join(sorted(detectors)) or "no report",
        stage_ms={k: round(v, 1) for k, v in sorted(stages.items())},
        nats_cpu_percent=100 * nats_used / TICKS / elapsed,
        server_cpu_percent=100 * server_used / TICKS / elapsed,
        seconds=elapsed,
        others_cpu_percent=100 * window.others_ticks / TICKS / elapsed,
    )


# -- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    result: ZmResult | OursResult
    load_start: str
    load_end: str

    @property
    def cameras(self) -> int:
        r = self.result
        return r.streams if isinstance(r, ZmResult) else r.cameras

    @property
    def sustained(self) -> bool:
        r = self.result
        kept = r.analysing_at_rate if isinstance(r, ZmResult) else r.kept_up
        return kept == self.cameras


ZONEMINDER = "ZoneMinder 1.36 Modect"


def counts(text: str) -> list[int]:
    values = sorted({int(part) for part in text.split(",") if part.strip()})
    if any(value < 1 for value in values):
        raise SystemExit(f"camera counts must be positive: {text!r}")
    return values


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    # SystemExit unwinds through every finally: ZoneMinder, workers and servers stop.
    raise SystemExit("stopped by SIGTERM")


def run(args: argparse.Namespace) -> dict[str, list[Step]]:
    """Every step of every system, in the order run: at each N, ZoneMinder then safecity."""
    zm_counts = counts(args.cameras or args.zm_cameras)
    our_counts = counts(args.cameras or args.safecity_cameras)
    detectors = VARIANT_CHOICES[args.variants]
    if not zm_counts and not our_counts:
        raise SystemExit("no camera counts to measure: give --cameras or the per-system lists")
    most = max(zm_counts + our_counts)
    print(f"preparing {most} camera clips in {CACHE}", file=sys.stderr, flush=True)
    clips = camera_clips(CACHE, most)
    systems = [ZONEMINDER, *(VARIANTS[detector] for detector in detectors)]
    steps: dict[str, list[Step]] = {system: [] for system in systems}

    def going(system: str) -> bool:
        return args.keep_stepping or all(step.sustained for step in steps[system])

    with tempfile.TemporaryDirectory(prefix="safecity-bench-modect-") as folder:
        work = Path(folder)
        models_dir = write_manifest(args.models_dir, work / "models")
        mounts = [RtspMount(f"cam{k + 1:02d}", clip.path) for k, clip in enumerate(clips)]
        server = RtspServer(mounts, log_path=work / "rtsp-server.log")
        server.start()
        try:
            server_pid = server.pid
            if server_pid is None:
                raise RuntimeError("the RTSP server is not running")
            # The simulated cameras stand for devices outside the machine: when the bench
            # runs under nice, they are not starved along with the two systems measured.
            unniced = min(0, os.getpriority(os.PRIO_PROCESS, 0))
            for thread in Path(f"/proc/{server_pid}/task").iterdir():  # Linux: per thread
                with contextlib.suppress(ProcessLookupError):  # a thread that just ended
                    os.setpriority(os.PRIO_PROCESS, int(thread.name), unniced)
            with NatsServer(work / "nats") as nats:
                if nats.pid is None:
                    raise RuntimeError("the NATS server is not running")
                for n in sorted(set(zm_counts) | set(our_counts)):
                    urls = [server.url(mount.camera_id) for mount in mounts[:n]]
                    if n in zm_counts and going(ZONEMINDER):
                        load = load_average()
                        theirs = measure_zoneminder(
                            urls,
                            server_pid,
                            args.warmup,
                            args.measure,
                            TICKS,
                            function="Modect",
                            fps=FPS,
                            discard_events=True,
                        )
                        steps[ZONEMINDER].append(Step(theirs, load, load_average()))
                        print(f"{ZONEMINDER} x {n}: {theirs}", file=sys.stderr, flush=True)
                    for detector in detectors:
                        system = VARIANTS[detector]
                        if n not in our_counts or not going(system):
                            continue
                        setup = Safecity(
                            nats.url,
                            nats.pid,
                            models_dir,
                            args.per_process,
                            work,
                            detector,
                            args.ingest_per_process,
                            detector_refresh=args.detector_refresh,
                            plate_locator=args.plate_locator,
                            plate_unsmear=args.plate_unsmear,
                        )
                        load = load_average()
                        ours = asyncio.run(
                            measure_safecity(
                                urls, clips[:n], setup, server_pid, args.warmup, args.measure
                            )
                        )
                        steps[system].append(Step(ours, load, load_average()))
                        print(f"{system} x {n}: {ours}", file=sys.stderr, flush=True)
        finally:
            server.stop()
    return steps


def _row(step: Step) -> str:
    r = step.result
    n = step.cameras
    load = f"{step.load_start}; {step.load_end}"
    if isinstance(r, ZmResult):
        return (
            f"| {ZONEMINDER} ({r.processes} processes) | {n} | {r.analysing_at_rate} | "
            f"{r.analysis_fps_min:.1f} / {r.analysis_fps_mean:.1f} | not counted | "
            f"{r.capture_fps_min:.1f} | {r.cpu_percent:.0f} / {r.cpu_percent / n:.1f} | "
            f"{r.rss_mb:.0f} / {r.rss_mb / n:.0f} | {r.pss_mb:.0f} / {r.pss_mb / n:.0f} | "
            f"{r.rss_growth_mb_per_s:.1f} | {r.recordings.playable} of {r.recordings.files} | "
            f"- | {r.others_cpu_percent:.0f} | {load} |"
        )
    return (
        f"| {r.variant} ({r.processes} processes) | {n} | {r.kept_up} | "
        f"{r.analysed_fps_min:.2f} / {r.analysed_fps_mean:.2f} | {r.frames_dropped} | "
        f"{r.received_fps_min:.1f} | {r.cpu_percent:.0f} / {r.cpu_percent / n:.1f} | "
        f"{r.rss_mb:.0f} / {r.rss_mb / n:.0f} | {r.pss_mb:.0f} / {r.pss_mb / n:.0f} | "
        f"{r.rss_growth_mb_per_s:.1f} | {r.playable} of {r.recorded_files} | "
        f"{r.plate_correct} / {r.plate_reads} | {r.others_cpu_percent:.0f} | {load} |"
    )


def print_tables(steps: dict[str, list[Step]]) -> None:
    print(
        "| system | cameras | cameras keeping up | analysed fps per camera (min / mean) | "
        "frames dropped | capture fps min | CPU % of a core (total / per camera) | "
        "RSS MB (total / per camera) | PSS MB (total / per camera) | RSS growth MB/s | "
        "recordings playable | plate reads (correct / all) | other work's CPU % in the window | "
        "load average (start; end) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    every = [step for system in steps.values() for step in system]
    for step in sorted(every, key=lambda step: step.cameras):
        print(_row(step))
    print()
    print(
        "| system | cameras per machine (largest N sustained) | CPU % of a core per camera | "
        "RSS / PSS MB per camera | analysed fps per camera |"
    )
    print("|---|---:|---:|---:|---:|")
    for system, measured in steps.items():
        if not measured:
            continue
        sustained = [step for step in measured if step.sustained]
        failed = [step for step in measured if not step.sustained]
        if not sustained:
            tried = ", ".join(str(step.cameras) for step in measured)
            print(f"| {system} | none of the steps ({tried}) | - | - | - |")
            continue
        best = sustained[-1]
        r, n = best.result, best.cameras
        fps = r.analysis_fps_mean if isinstance(r, ZmResult) else r.analysed_fps_mean
        limit = f"{n} (not {failed[0].cameras})" if failed else f"{n} or more (largest step)"
        print(
            f"| {system} | {limit} | {r.cpu_percent / n:.1f} | {r.rss_mb / n:.0f} / "
            f"{r.pss_mb / n:.0f} | {fps:.1f} |"
        )
    print()
    for step in every:
        r = step.result
        if isinstance(r, ZmResult):
            print(
                f"{ZONEMINDER} x {r.streams}: capture fps mean {r.capture_fps_mean:.1f}; "
                f"MariaDB CPU {r.database_cpu_percent:.1f} %; RTSP server CPU "
                f"{r.server_cpu_percent:.1f} %"
            )
        else:
            print(
                f"{r.variant} x {r.cameras}: ingest ({r.ingest_processes} processes) "
                f"{r.ingest_cpu_percent:.0f} % CPU, "
                f"{r.ingest_rss_mb:.0f} MB RSS / {r.ingest_pss_mb:.0f} MB PSS (the rest is "
                f"analytics); detector {r.detector}; stage ms {r.stage_ms}; "
                f"plate jobs dropped {r.plate_jobs_dropped}; distinct true plates read "
                f"{r.plates_distinct_true} of {r.plates_passing} passing; ingest frames "
                f"dropped {r.ingest_frames_dropped}; segments closed {r.segments}; NATS CPU "
                f"{r.nats_cpu_percent:.1f} %; RTSP server CPU {r.server_cpu_percent:.1f} %"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", help="the same steps for both systems, e.g. 2,4")
    parser.add_argument("--zm-cameras", default="8,12,16,20,24")
    parser.add_argument("--safecity-cameras", default="16,20,24,26,28,32")
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--measure", type=float, default=60.0)
    parser.add_argument("--per-process", type=int, default=8, help="cameras per analytics process")
    parser.add_argument(
        "--ingest-per-process",
        type=int,
        default=8,
        help="cameras per ingest process (safecity up: SAFECITY_INGEST_CAMERAS_PER_PROCESS, 8); "
        "0: a process per camera, the layout before ingest groups",
    )
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    parser.add_argument(
        "--variants",
        choices=sorted(VARIANT_CHOICES),
        default="both",
        help="safecity with YOLOX-nano and on motion tracks (both, the default), one of them "
        "(detector, motion), with the package's sim-vehicles detector (sim), or all three",
    )
    parser.add_argument(
        "--detector-refresh",
        type=float,
        help="safecity's detector_refresh_seconds (default: the configuration's; 0 runs the "
        "detector on every analysed frame with motion, as before the cadence)",
    )
    parser.add_argument(
        "--plate-locator",
        choices=("off", "first", "only"),
        default="first",
        help="safecity's plate reader: PP-OCR over the vehicle region (off), the own plate "
        "locator then PP-OCR on the plate (first), locator and own plate model only (only)",
    )
    parser.add_argument(
        "--no-plate-unsmear",
        dest="plate_unsmear",
        action="store_false",
        help="safecity's workers do not unsmear located plates they read nothing on",
    )
    parser.add_argument(
        "--keep-stepping", action="store_true", help="measure every step, even past saturation"
    )
    args = parser.parse_args()
    if args.ingest_per_process < 0:
        raise SystemExit("--ingest-per-process must be 0 or more")
    check_prerequisites(args.models_dir, zoneminder=bool(counts(args.cameras or args.zm_cameras)))
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    began, load = time.time(), load_average()
    steps = run(args)
    print(
        f"\n1280x720/{FPS} fps H.264 (the simulator's ANPR view, plated traffic) over RTSP/TCP "
        f"from GStreamer on 127.0.0.1; {args.warmup:.0f} s warm-up, {args.measure:.0f} s "
        f"window; CPU in % of one core ({os.cpu_count()} cores); load average {load} at the "
        f"start, {load_average()} at the end; {(time.time() - began) / 60:.0f} min in all\n"
    )
    print_tables(steps)


if __name__ == "__main__":
    main()
