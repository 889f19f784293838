"""Wrong-way events of the demo's analytics against the simulator's ground truth.

Renders ``--seconds`` of the simulated city for ``--seed`` (``--cameras`` cameras, the
demo's size for ``--view``, 10 fps; kept in ``--cache`` so a second checkout can be run on
the same clips), then runs each camera's pipeline in this process with the demo's
configuration (its wrong-way rule on the road zone, traffic towards the camera) and the
bundled sim-vehicles detector, on every second frame (the demo analyses 5 fps).

An event is counted true when a vehicle the ground truth marks ``wrong_way`` is in view of
that camera at that moment (a second), false otherwise (and listed apart when the vehicle
in view is of another class than the event's); a wrong-way vehicle is caught when at least
one event fell within its time in view, and events beyond one per caught vehicle are
counted (a second event of one pass, or a false one while it was in view). Vehicles in
view under 2 s in all are counted apart (too short for the rule's window).

    nice .venv/bin/python bench/wrong_way.py --seed 8601 --view anpr --cache /tmp/ww
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from safecity.analytics.pipeline import PipelineCamera, build_pipeline  # noqa: E402
from safecity.contracts.analytics import RuleEvent  # noqa: E402
from safecity.contracts.base import Message  # noqa: E402
from safecity.demo.analytics import demo_analytics_config  # noqa: E402
from safecity.demo.clips import VIEW_SIZES  # noqa: E402
from safecity.sim.render import render_city  # noqa: E402
from safecity.sim.truth import GroundTruth  # noqa: E402
from safecity.vision.detectors import load_detector  # noqa: E402
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR, SIM_VEHICLES  # noqa: E402

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
FPS = 10
MARGIN_S = 1.0


def wrong_way_events(clip: Path, media: Path) -> list[RuleEvent]:
    detector = load_detector(BUNDLED_MODELS_DIR / f"{SIM_VEHICLES}.yaml")
    published: list[Message] = []
    pipeline = build_pipeline(
        PipelineCamera("cam-01", media, demo_analytics_config(SIM_VEHICLES), 1),
        detector,
        None,
        published.append,
    )
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % 2:
                continue
            image = np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
            pipeline.process(image, T0 + timedelta(seconds=index / FPS))
    pipeline.flush()
    return [m for m in published if isinstance(m, RuleEvent) and m.kind == "wrong_way"]


def score(truth: GroundTruth, camera: str, events: list[RuleEvent]) -> dict[str, object]:
    spans = [
        (vehicle.id, vehicle.vehicle_class, a.first_time_s, a.last_time_s)
        for vehicle in truth.vehicles
        if vehicle.wrong_way
        for a in vehicle.appearances
        if a.camera_id == camera
    ]
    times = [(event.at - T0).total_seconds() for event in events]

    def in_view(t: float, kind: str | None = None) -> list[str]:
        return [
            v
            for v, cls, first, last in spans
            if first - MARGIN_S <= t <= last + MARGIN_S and kind in (None, cls)
        ]

    def described(t: float, e: RuleEvent) -> dict[str, object]:
        box = None if e.box is None else [e.box.x, e.box.y, e.box.w, e.box.h]
        return {"t": round(t, 1), "box": box, "class": e.object_class}

    pairs = list(zip(times, events, strict=True))
    false = [described(t, e) for t, e in pairs if not in_view(t)]
    other_class = [
        described(t, e) for t, e in pairs if in_view(t) and not in_view(t, e.object_class)
    ]
    # An event is of the in-view wrong-way vehicle of its class, if there is one.
    caught = {v for t, e in pairs for v in (in_view(t, e.object_class) or in_view(t))}
    long_enough = [v for v, _, first, last in spans if last - first >= 2.0]
    return {
        "camera": camera,
        "events": len(events),
        "false": len(false),
        "false_events": false,
        "all_events": [described(t, e) for t, e in pairs],
        "other_class_in_view": other_class,
        "beyond_one_per_caught": len(events) - len(false) - len(caught),
        "wrong_way_in_view": len(spans),
        "of_them_2s_or_more": len(long_enough),
        "caught": len(caught),
        "caught_of_2s_or_more": len(caught & set(long_enough)),
        "missed": sorted({v for v, _, _, _ in spans} - caught),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=8601)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--view", choices=("overview", "anpr"), default="anpr")
    parser.add_argument("--cache", type=Path, default=None, help="folder to keep the clips in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        width, height = VIEW_SIZES[args.view]
        clips = (args.cache or Path(folder)) / f"seed{args.seed}-{args.view}-{args.seconds:g}s"
        truth_file = clips / "ground_truth.json"
        if truth_file.exists():
            truth = GroundTruth.model_validate_json(truth_file.read_text())
        else:
            truth = render_city(
                args.seed,
                args.seconds,
                clips,
                cameras=args.cameras,
                width=width,
                height=height,
                fps=FPS,
                view=args.view,
            )
        results = []
        for camera in sorted(c.id for c in truth.cameras):
            events = wrong_way_events(clips / f"{camera}.mp4", Path(folder) / "media" / camera)
            results.append(score(truth, camera, events))
    total = {
        key: sum(int(r[key]) for r in results)  # type: ignore[call-overload]
        for key in (
            "events",
            "false",
            "beyond_one_per_caught",
            "wrong_way_in_view",
            "of_them_2s_or_more",
            "caught",
        )
    }
    print(json.dumps({"seed": args.seed, "view": args.view, "total": total, "cameras": results}))


if __name__ == "__main__":
    main()
