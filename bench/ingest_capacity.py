"""How many 720p/15 fps RTSP cameras one ingest process can record by stream copy.

Simulated cameras come from GStreamer's RTSP server (``safecity.sim.rtsp``),
all looping the same 720p/15 fps H.264 clip. For each mode and camera count,
a fresh child process opens that many ``CameraReader``s; after a warm-up it
measures its own CPU time and memory from /proc over a window:

- ``record``: stream copy into 10 s fragmented MP4 segments, nothing decoded;
- ``record+keyframes``: the same, plus key frames decoded and turned into a
  grey image (the sampling the health checks use);
- ``decode``: every frame decoded (one thread per camera), nothing recorded:
  the reference for what analytics would pay.

CPU is % of one core (the machine has 2); memory is the growth of the
process's resident set over its size before the readers started. The RTSP
server runs on the same machine and its CPU is reported beside.

    .venv/bin/python bench/ingest_capacity.py [--streams 16,32,64]
        [--modes record,record+keyframes,decode] [--warmup 6] [--measure 20]

With ``--peer zoneminder`` only ``record`` runs, and after each safecity
measurement ZoneMinder records the same streams in Record mode
(``zm_peer.py``); one table then shows both, with CPU summed over all of
ZoneMinder's processes, RSS and PSS from /proc/PID/smaps_rollup, and every
recording of both systems probed with PyAV:

    .venv/bin/python bench/ingest_capacity.py --peer zoneminder --streams 16,64
        --warmup 30 --measure 60
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zm_peer import Recordings, ZmResult

CLIP_FPS = 15
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str = "self") -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- child: one measurement ------------------------------------------------------------------


def run_child(mode: str, urls: list[str], warmup: float, measure: float, media: Path) -> None:
    from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
    from safecity.ingest.recorder import SegmentRecorder
    from zm_peer import memory_mb

    baseline_rss = rss_mb()
    recorders: list[SegmentRecorder] = []
    readers: list[CameraReader] = []
    decode = {
        "record": DecodeMode.NONE,
        "record+keyframes": DecodeMode.KEY_FRAMES,
        "decode": DecodeMode.ALL,
    }[mode]
    for index, url in enumerate(urls):
        camera = f"cam-{index:03d}"
        sinks = []
        if mode.startswith("record"):
            recorder = SegmentRecorder(camera, media, segment_seconds=10)
            recorders.append(recorder)
            sinks.append(recorder)
        readers.append(CameraReader(camera, url, ReaderOptions(decode=decode), sinks=sinks))
    stop = threading.Event()
    consumers = []
    if decode is DecodeMode.KEY_FRAMES:
        # A stand-in for the image checks: each sampled frame becomes a grey array.
        def consume(reader: CameraReader) -> None:
            while not stop.is_set():
                frame = reader.frames.get(0.5)
                if frame is not None:
                    frame.image.to_ndarray(format="gray")

        consumers = [threading.Thread(target=consume, args=(r,), daemon=True) for r in readers]
    for reader in readers:
        reader.start()
    for consumer in consumers:
        consumer.start()
    time.sleep(warmup)
    print("MEASURE", flush=True)
    started, cpu_before = time.monotonic(), cpu_seconds()
    before = [reader.stats() for reader in readers]
    time.sleep(measure)
    elapsed, cpu_used = time.monotonic() - started, cpu_seconds() - cpu_before
    after = [reader.stats() for reader in readers]
    rss = rss_mb()
    _, pss = memory_mb("self")
    stop.set()
    for reader in readers:
        reader.stop(timeout=10)
    for recorder in recorders:
        recorder.close()
    received = [(b.packets - a.packets) / elapsed for a, b in zip(before, after, strict=True)]
    decoded = [
        (b.frames_decoded - a.frames_decoded) / elapsed for a, b in zip(before, after, strict=True)
    ]
    result = {
        "cpu_percent": 100 * cpu_used / elapsed,
        "rss_mb": rss,
        "pss_mb": pss,
        "rss_growth_mb": rss - baseline_rss,
        "fps_min": min(received),
        "fps_mean": sum(received) / len(received),
        "decoded_fps_mean": sum(decoded) / len(decoded),
        "streaming": sum(1 for s in after if s.state == "streaming"),
        "reconnects": sum(s.reconnects for s in after),
        "segments": sum(r.stats().segments_closed for r in recorders),
        "recording_errors": sum(1 for r in recorders if r.stats().last_error),
    }
    print(json.dumps(result), flush=True)


# -- parent: cameras, children, table ----------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    mode: str
    streams: int
    result: dict[str, float]
    server_cpu_percent: float
    recordings: Recordings | None = None


def measure(
    mode: str,
    urls: list[str],
    server_pid: int,
    warmup: float,
    window: float,
    *,
    probe: bool = False,
) -> Measurement:
    from zm_peer import probe_recordings

    media = Path(tempfile.mkdtemp(prefix="safecity-bench-media-"))
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--warmup",
        str(warmup),
        "--measure",
        str(window),
        "--media",
        str(media),
    ]
    try:
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if child.stdin is None or child.stdout is None:
            raise RuntimeError("the child has no pipes")
        child.stdin.write("\n".join(urls))
        child.stdin.close()
        line = child.stdout.readline()
        if line.strip() != "MEASURE":
            raise RuntimeError(f"the {mode} child failed before measuring: {line!r}")
        server_before, started = cpu_seconds(server_pid), time.monotonic()
        output = child.stdout.readline()
        server_used = cpu_seconds(server_pid) - server_before
        server_percent = 100 * server_used / (time.monotonic() - started)
        if child.wait(timeout=120) != 0 or not output:
            raise RuntimeError(f"the {mode} child with {len(urls)} streams failed")
        recordings = probe_recordings(sorted(media.rglob("*.mp4"))) if probe else None
        return Measurement(mode, len(urls), json.loads(output), server_percent, recordings)
    finally:
        shutil.rmtree(media, ignore_errors=True)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def side_by_side(
    urls: list[str], server_pid: int, warmup: float, window: float
) -> tuple[Measurement, ZmResult, str, str]:
    """safecity then ZoneMinder recording the same streams; load averages at start and end."""
    from zm_peer import measure_zoneminder

    load_start = load_average()
    ours = measure("record", urls, server_pid, warmup, window, probe=True)
    print(f"safecity x {len(urls)}: {json.dumps(ours.result)}", file=sys.stderr)
    theirs = measure_zoneminder(urls, server_pid, warmup, window, TICKS)
    print(f"ZoneMinder x {len(urls)}: {theirs}", file=sys.stderr)
    return ours, theirs, load_start, load_average()


def print_side_by_side(rows: list[tuple[Measurement, ZmResult, str, str]]) -> None:
    print(
        "| system | cameras | fps per stream (min / mean) | recorded fps | "
        "CPU % of a core (total / per camera) | RSS MB (total / per camera) | "
        "PSS MB (total / per camera) | recordings playable | RTSP server CPU % | MariaDB CPU % | "
        "load average (start; end) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for ours, theirs, load_start, load_end in rows:
        n, r = ours.streams, ours.result
        mine = ours.recordings
        if mine is None:
            raise RuntimeError("safecity's recordings were not probed")
        print(
            f"| safecity (stream copy) | {n} | {r['fps_min']:.1f} / {r['fps_mean']:.1f} | "
            f"{mine.fps:.1f} | {r['cpu_percent']:.1f} / {r['cpu_percent'] / n:.2f} | "
            f"{r['rss_mb']:.0f} / {r['rss_mb'] / n:.1f} | {r['pss_mb']:.0f} / "
            f"{r['pss_mb'] / n:.1f} | {mine.playable} of {mine.files} | "
            f"{ours.server_cpu_percent:.1f} | - | {load_start}; {load_end} |"
        )
        rec = theirs.recordings
        print(
            f"| ZoneMinder Record ({theirs.processes} processes) | {n} | "
            f"{theirs.capture_fps_min:.1f} / {theirs.capture_fps_mean:.1f} | {rec.fps:.1f} | "
            f"{theirs.cpu_percent:.1f} / {theirs.cpu_percent / n:.2f} | "
            f"{theirs.rss_mb:.0f} / {theirs.rss_mb / n:.1f} | {theirs.pss_mb:.0f} / "
            f"{theirs.pss_mb / n:.1f} | {rec.playable} of {rec.files} | "
            f"{theirs.server_cpu_percent:.1f} | {theirs.database_cpu_percent:.1f} | |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", default="16,32,64")
    parser.add_argument("--modes", default="record,record+keyframes,decode")
    parser.add_argument("--warmup", type=float, default=6.0)
    parser.add_argument("--measure", type=float, default=20.0)
    parser.add_argument("--peer", choices=["zoneminder"], help="also measure this peer")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--media", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        urls = sys.stdin.read().split()
        run_child(args.child, urls, args.warmup, args.measure, args.media)
        return

    from ingest_clips import bitrate_kbps, write_clip
    from safecity.sim.rtsp import RtspMount, RtspServer

    if args.peer == "zoneminder":
        from zm_peer import unavailable_reason

        reason = unavailable_reason()
        if reason is not None:
            print(reason, file=sys.stderr)
            sys.exit(2)
    counts = [int(part) for part in args.streams.split(",")]
    modes = ["record"] if args.peer else args.modes.split(",")
    folder = Path(tempfile.gettempdir()) / "safecity-bench-clips"
    folder.mkdir(exist_ok=True)
    clip = write_clip(
        folder / "testsrc2-720p-15fps-10s.mp4", width=1280, height=720, fps=CLIP_FPS, seconds=10
    )
    mounts = [RtspMount(f"cam-{index:03d}", clip) for index in range(max(counts))]
    server = RtspServer(mounts, log_path=folder / "rtsp-server.log")
    server.start()
    rows: list[Measurement] = []
    peers: list[tuple[Measurement, ZmResult, str, str]] = []
    try:
        pid = server.pid
        if pid is None:
            raise RuntimeError("the RTSP server is not running")
        for mode in modes:
            for count in counts:
                urls = [server.url(mount.camera_id) for mount in mounts[:count]]
                if args.peer == "zoneminder":
                    peers.append(side_by_side(urls, pid, args.warmup, args.measure))
                else:
                    rows.append(measure(mode, urls, pid, args.warmup, args.measure))
                print(f"measured {mode} x {count}", file=sys.stderr)
    finally:
        server.stop()
    print(
        f"720p/{CLIP_FPS} fps H.264 ({bitrate_kbps(clip) / 1000:.1f} Mbit/s) over RTSP/TCP from "
        f"GStreamer on 127.0.0.1; {args.measure:.0f} s window after {args.warmup:.0f} s "
        f"warm-up; CPU in % of one core (2 cores)\n"
    )
    if peers:
        print_side_by_side(peers)
        return
    print(
        "| mode | streams | streaming | fps/stream (min / mean) | decoded fps/stream | "
        "CPU % | CPU %/stream | RSS MB | RSS growth MB/stream | reconnects | "
        "RTSP server CPU % |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        r = row.result
        print(
            f"| {row.mode} | {row.streams} | {r['streaming']:.0f} | "
            f"{r['fps_min']:.1f} / {r['fps_mean']:.1f} | {r['decoded_fps_mean']:.1f} | "
            f"{r['cpu_percent']:.1f} | {r['cpu_percent'] / row.streams:.2f} | "
            f"{r['rss_mb']:.0f} | {r['rss_growth_mb'] / row.streams:.2f} | "
            f"{r['reconnects']:.0f} | {row.server_cpu_percent:.1f} |"
        )


if __name__ == "__main__":
    main()
