"""What reading and decoding a 720p camera costs, part by part, in one run.

Two measurements on the simulated ANPR-view clips of the ZoneMinder side by side
(``modect_clips.py``: 1280x720, 15 fps, a key frame every 2 s):

1. ``--readers``: N cameras served over RTSP by the project's GStreamer server, each read
   by a ``CameraReader`` in this process, one configuration after the other; CPU of this
   process (utime + stime) over the window, as % of one core per camera. Configurations:
   demux only (``none``), demux and stream-copy recording (``record``), key frames decoded
   for image checks at 1 and 0.25 frames a second (``key-1``, ``key-0.25``; a key frame
   the sampler would drop is not decoded), every frame decoded with and without the
   deblocking filter (``all``, ``all-no-deblock``; what analytics does).
2. ``--pipeline``: one camera's analysis of every third frame of a clip (5 of 15 fps:
   motion gate, cadence, tracker; YOLOX-nano from ``--models-dir`` if given), fed the
   decoded frame converted to BGR first (as before ``vision.picture``) or as a
   ``Picture`` (luma for the cheap stages, colour only when asked). Milliseconds a frame,
   process CPU, the two alternating over ``--rounds``.

    .venv/bin/python bench/decode_costs.py --readers --cameras 8 --seconds 30
    .venv/bin/python bench/decode_costs.py --pipeline --rounds 3 [--models-dir ../shared/models]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np

from modect_clips import camera_clips
from safecity.analytics.pipeline import PipelineCamera, build_pipeline
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.ingest.frames import picture_of
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
from safecity.ingest.recorder import SegmentRecorder
from safecity.sim.rtsp import RtspMount, RtspServer
from safecity.vision.detectors import Detector, load_detector

CACHE = Path(tempfile.gettempdir()) / "safecity-bench-zm-modect"
READERS: dict[str, tuple[DecodeMode, float | None, bool, bool]] = {
    # name: decode mode, target fps, record, skip deblocking
    "none": (DecodeMode.NONE, None, False, False),
    "record": (DecodeMode.NONE, None, True, False),
    "key-1": (DecodeMode.KEY_FRAMES, 1.0, False, False),
    "key-0.25": (DecodeMode.KEY_FRAMES, 0.25, False, False),
    "all": (DecodeMode.ALL, 5.0, False, False),
    "all-no-deblock": (DecodeMode.ALL, 5.0, False, True),
}


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def measure_readers(cameras: int, seconds: float, rounds: int) -> None:
    clips = camera_clips(CACHE, cameras)
    mounts = [RtspMount(f"cam{k + 1:02d}", clip.path) for k, clip in enumerate(clips)]
    print(f"| configuration | % of a core per camera ({cameras} cameras, {seconds:.0f} s) |")
    print("|---|---|")
    with (
        tempfile.TemporaryDirectory() as folder,
        RtspServer(mounts, log_path=Path(folder) / "rtsp.log") as server,
    ):
        results: dict[str, list[float]] = {name: [] for name in READERS}
        for _ in range(rounds):
            for name, (mode, fps, record, no_deblock) in READERS.items():
                media = Path(folder) / f"media-{name}"
                readers = [
                    CameraReader(
                        mount.camera_id,
                        server.url(mount.camera_id),
                        ReaderOptions(decode=mode, target_fps=fps, skip_deblocking=no_deblock),
                        sinks=[SegmentRecorder(mount.camera_id, media)] if record else [],
                    )
                    for mount in mounts
                ]
                for reader in readers:
                    reader.start()
                time.sleep(5)  # connected and past the first key frame
                used, began = cpu_seconds(), time.monotonic()
                time.sleep(seconds)
                share = (cpu_seconds() - used) / (time.monotonic() - began) * 100 / cameras
                slowest = min(reader.stats().fps for reader in readers)
                for reader in readers:
                    reader.stop()
                if slowest < 14:
                    print(
                        f"warning: {name}: a stream arrived at {slowest:.1f} fps", file=sys.stderr
                    )
                results[name].append(share)
        for name, shares in results.items():
            print(f"| {name} | {' / '.join(f'{share:.2f}' for share in shares)} |")


def measure_pipeline(rounds: int, models: Path | None) -> None:
    (clip,) = camera_clips(CACHE, 1)
    with av.open(str(clip.path)) as container:
        frames = [f for i, f in enumerate(container.decode(video=0)) if i % 3 == 0][:150]
    detector: Detector | None = None
    if models is not None:
        sys.path.insert(0, str(Path(__file__).parent))
        from zm_modect import DETECTOR, write_manifest

        folder = Path(tempfile.mkdtemp())
        write_manifest(models, folder)
        detector = load_detector(folder / f"{DETECTOR}.yaml")

    def run(convert: Callable[[av.VideoFrame], object]) -> tuple[float, float]:
        config = CameraAnalyticsConfig.model_validate({"analysed_fps": 5})
        with tempfile.TemporaryDirectory() as media:
            pipeline = build_pipeline(
                PipelineCamera("BENCH-1", Path(media), config), detector, None, lambda _: None
            )
            start = datetime(2026, 12, 7, tzinfo=UTC)
            used, began = cpu_seconds(), time.perf_counter()
            for index, frame in enumerate(frames):
                pipeline.process(convert(frame), start + timedelta(seconds=index / 5))  # type: ignore[arg-type]
            wall = (time.perf_counter() - began) / len(frames) * 1000
            return wall, (cpu_seconds() - used) / len(frames) * 1000

    def to_bgr(frame: av.VideoFrame) -> object:
        return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)

    detected = "YOLOX-nano" if detector is not None else "no detector"
    print(f"| round | BGR first: ms a frame (CPU) | Picture: ms a frame (CPU) | ({detected}) |")
    print("|---|---|---|---|")
    for round_ in range(rounds):
        bgr_wall, bgr_cpu = run(to_bgr)
        pic_wall, pic_cpu = run(picture_of)
        print(
            f"| {round_ + 1} | {bgr_wall:.2f} ({bgr_cpu:.2f}) | {pic_wall:.2f} ({pic_cpu:.2f}) | |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readers", action="store_true")
    parser.add_argument("--pipeline", action="store_true")
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--models-dir", type=Path)
    args = parser.parse_args()
    if not args.readers and not args.pipeline:
        parser.error("give --readers, --pipeline or both")
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    if args.readers:
        measure_readers(args.cameras, args.seconds, args.rounds)
    if args.pipeline:
        measure_pipeline(args.rounds, args.models_dir)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
