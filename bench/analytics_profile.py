"""One 720p camera's analytics CPU on a fixed clip, part by part (for paired before/after runs).

The capacity bench's plated 1280x720/15 fps clip (``modect_clips.py``, camera 1) is
decoded as an analytics worker decodes it (every frame, one thread, no deblocking
filter); every third frame (5 analysed fps) is made a ``Picture`` and analysed by the
pipeline as the capacity bench configures it (the demo's configuration, the bundled
sim-vehicles detector with its cadence, ByteTrack, rules; with ``--plates`` the real
plate reader inline, otherwise no ANPR stage). CPU is ``time.process_time`` of this
process (all its threads), so a busy machine slows the run but changes the figure
little; frames are stepped in order, so the work done is the same on every run.

Prints one JSON line: CPU milliseconds per decoded frame (decode) and per analysed
frame (picture, analysis; the pipeline's stage means are wall time), as % of one core per
camera at 15 decoded / 5 analysed fps, detector runs and plate reads. Paired runs of
two versions of the code: run this script with ``PYTHONPATH=<other checkout>/src``
and without, alternately.

    nice .venv/bin/python bench/analytics_profile.py --frames 900 [--plates] \
        [--profile /tmp/analytics.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))

from modect_clips import camera_clips
from safecity.analytics.main import plate_reader
from safecity.analytics.pipeline import CameraPipeline, PipelineCamera, build_pipeline
from safecity.analytics.timings import StageTimings
from safecity.contracts.analytics import PlateRead
from safecity.contracts.base import Message
from safecity.demo.analytics import demo_analytics_config
from safecity.ingest.frames import picture_of
from safecity.vision.detectors import load_detector
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR, SIM_VEHICLES
from safecity.vision.picture import Picture


def picture_maker() -> Callable[[av.VideoFrame], Picture]:
    """How the worker makes a frame a Picture (the code before ColourConverter: picture_of)."""
    frames = importlib.import_module("safecity.ingest.frames")
    converter = getattr(frames, "ColourConverter", None)
    return picture_of if converter is None else converter().picture


CACHE = Path(tempfile.gettempdir()) / "safecity-bench-zm-modect"
EVERY = 3  # 5 analysed fps of 15
T0 = datetime(2026, 12, 7, tzinfo=UTC)


@dataclass
class Spent:
    """CPU seconds of each part and the frames they were spent on."""

    decode: float = 0.0
    picture: float = 0.0
    analysis: float = 0.0
    decoded: int = 0
    analysed: int = 0


def _analyse(
    clip: Path,
    frames: int,
    pipeline: CameraPipeline,
    make_picture: Callable[[av.VideoFrame], Picture],
    profiler: cProfile.Profile | None,
) -> Spent:
    """Decode ``frames`` frames of ``clip`` as a worker does and analyse every third."""
    spent = Spent()
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        stream.codec_context.options = {"skip_loop_filter": "all"}
        decoded = container.decode(stream)
        if profiler is not None:
            profiler.enable()
        while spent.decoded < frames:
            started = time.process_time()
            frame = next(decoded, None)
            spent.decode += time.process_time() - started
            if frame is None:
                break
            spent.decoded += 1
            if (spent.decoded - 1) % EVERY:
                continue
            started = time.process_time()
            image = make_picture(frame)
            converted = time.process_time()
            pipeline.process(image, T0 + timedelta(seconds=(spent.decoded - 1) / 15))
            spent.picture += converted - started
            spent.analysis += time.process_time() - converted
            spent.analysed += 1
        if profiler is not None:
            profiler.disable()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=900, help="decoded frames (15 a second)")
    parser.add_argument("--camera", type=int, default=1, help="which capacity-bench clip")
    parser.add_argument("--plates", action="store_true", help="the plate reader inline")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the run here")
    parser.add_argument("--top", type=int, default=30, help="profile rows printed")
    args = parser.parse_args()
    clip = camera_clips(CACHE, args.camera)[args.camera - 1].path
    detector = load_detector(BUNDLED_MODELS_DIR / f"{SIM_VEHICLES}.yaml")
    reader, fuse = plate_reader(1, "first") if args.plates else (None, None)
    published: list[Message] = []
    timings = StageTimings(window=100_000)
    with tempfile.TemporaryDirectory() as media:
        pipeline = build_pipeline(
            PipelineCamera("cam", Path(media), demo_analytics_config(SIM_VEHICLES), 1),
            detector,
            reader,
            published.append,
            fuse=fuse,
            timings=timings,
        )
        make_picture = picture_maker()
        profiler = cProfile.Profile() if args.profile else None
        spent = _analyse(clip, args.frames, pipeline, make_picture, profiler)
        pipeline.flush()
    decode_ms = spent.decode / spent.decoded * 1000
    picture_ms = spent.picture / spent.analysed * 1000
    analysis_ms = spent.analysis / spent.analysed * 1000
    result = {
        "frames_decoded": spent.decoded,
        "frames_analysed": spent.analysed,
        "decode_ms": round(decode_ms, 3),
        "picture_ms": round(picture_ms, 3),
        "analysis_ms": round(analysis_ms, 3),
        "stage_ms": timings.means(),
        "core_percent": {
            "decode": round(decode_ms * 15 / 10, 2),
            "analysis": round((picture_ms + analysis_ms) * 5 / 10, 2),
        },
        "detector_runs": pipeline.counters.detector_runs,
        "events": pipeline.counters.events,
        "plate_reads": sorted(m.text for m in published if isinstance(m, PlateRead)),
    }
    print(json.dumps(result))
    if profiler is not None:
        profiler.dump_stats(str(args.profile))
        stats = pstats.Stats(str(args.profile), stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
