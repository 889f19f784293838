"""A simulated alert source for the demo: realistic AlertRaised messages for the demo
cameras at a modest rate, so the operator console has something to show without anyone
staging an incident.

What it raises, roughly in the proportions a city control room sees them:

- hotlist hits (a stolen or wanted car, or one with an expired registration, read at
  a camera, with a plate crop and a scene snapshot); the same car often passes a
  second camera minutes later, which the command centre correlates into one alert
  with a count of two;
- zone intrusions and loitering from analytics rules;
- a camera going offline (priority 2).

Hotlist hits are drilled as the real procedure goes: they come from the ``hotlist``
source with the real kinds (``hotlist.stolen``, ``hotlist.wanted``,
``hotlist.expired_registration``), the plate read, and the listed plate, reason and
agency in their reference, so the operator compares the plate crop with the listed
plate and confirms the match (or rejects it) before any field action, as on a real
hit. Some are look-alike misreads (the crop shows LE81234, the list says LEB1234), so
"Not a match" is drilled too. They name no hotlist entry (there is none), and their
reference says ``drill``. Every other message comes from the ``simulator``; every
message's detail says it is a drill.

Pure where it can be (``DrillScript`` decides what happens from a seed); the runner
publishes over the bus, and writes its pictures under the media root as a worker
would. It never touches the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from safecity.bus.interface import Bus
from safecity.contracts.alerts import AlertRaised
from safecity.core.clock import utcnow

log = logging.getLogger(__name__)

DRILL_NOTE = "Demo drill: simulated by safecity's alert drill, not a real event."
# Share of each kind among raised alerts.
WEIGHTS = {"hotlist": 0.45, "intrusion": 0.3, "loitering": 0.15, "offline": 0.1}
HOTLIST_REASONS = (
    ("hotlist.stolen", 1, "Stolen vehicle", "Reported stolen, FIR {fir}/2026, PS {station}"),
    ("hotlist.wanted", 1, "Wanted vehicle", "Linked to FIR {fir}/2026 (robbery), PS {station}"),
    ("hotlist.expired_registration", 4, "Expired registration", "Token tax unpaid since 2024"),
)
DRILL_AGENCY = "Safe City demo drill"
# Share of drilled hits that are look-alike misreads, to be rejected at the plate check.
MISREAD_SHARE = 0.25
# Characters an OCR confuses, each with its look-alike (as the hotlist matching folds them).
LOOK_ALIKES = {"B": "8", "8": "B", "O": "0", "0": "O", "S": "5", "5": "S", "Z": "2", "2": "Z"}
STATIONS = ("Gulbahar", "Hayatabad", "Cantt", "Faqirabad", "City", "Township")


@dataclass(frozen=True)
class DrillCamera:
    """A camera the drill may name: its code and district slug."""

    code: str
    district: str


@dataclass
class DrillScript:
    """Decides, from a seed, which alert comes next. Pure: no clock, no I/O."""

    cameras: list[DrillCamera]
    seed: int = 7
    _rng: np.random.Generator = field(init=False)
    _recent_plates: list[tuple[str, int, str, str, str]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if not self.cameras:
            raise ValueError("the alert drill needs at least one camera")
        self._rng = np.random.default_rng(self.seed)

    def _pick(self) -> DrillCamera:
        return self.cameras[int(self._rng.integers(0, len(self.cameras)))]

    def next(self, at: datetime) -> tuple[AlertRaised, str | None]:
        """The next alert, and the plate to draw for it (None: no pictures)."""
        kinds = list(WEIGHTS)
        kind = kinds[int(self._rng.choice(len(kinds), p=list(WEIGHTS.values())))]
        camera = self._pick()
        if kind == "hotlist":
            return self._hotlist(camera, at)
        if kind == "intrusion":
            zone = ("restricted yard", "rooftop", "rail track", "school gate")[
                int(self._rng.integers(0, 4))
            ]
            return self._message(
                camera,
                at,
                source="simulator",
                kind="analytics.zone_intrusion",
                priority=2,
                title=f"Person in {zone} at {camera.code}",
                key=f"camera:{camera.code}:zone_intrusion",
            ), None
        if kind == "loitering":
            minutes = int(self._rng.integers(4, 15))
            return self._message(
                camera,
                at,
                source="simulator",
                kind="analytics.loitering",
                priority=4,
                title=f"Loitering {minutes} min at {camera.code}",
                key=f"camera:{camera.code}:loitering",
            ), None
        return self._message(
            camera,
            at,
            source="simulator",
            kind="health.offline",
            priority=2,
            title=f"Camera {camera.code} offline",
            key=f"camera:{camera.code}:offline",
        ), None

    def _hotlist(self, camera: DrillCamera, at: datetime) -> tuple[AlertRaised, str]:
        # A car seen before often passes another camera of its district soon after.
        again = [p for p in self._recent_plates if p[3] == camera.district]
        if again and self._rng.random() < 0.4:
            plate, reason_index, fir, _, listed = again[int(self._rng.integers(0, len(again)))]
        else:
            plate = self._plate_text()
            reason_index = int(self._rng.choice(3, p=[0.5, 0.2, 0.3]))
            fir = str(int(self._rng.integers(100, 999)))
            # The plate read (and drawn in the crop) is ``plate``; a misread drill lists
            # a look-alike of it, as a real confusable hit would.
            listed = self._look_alike(plate) if self._rng.random() < MISREAD_SHARE else plate
            self._recent_plates = [
                *self._recent_plates[-19:],
                (plate, reason_index, fir, camera.district, listed),
            ]
        kind, priority, label, why = HOTLIST_REASONS[reason_index]
        reason = why.format(fir=fir, station=STATIONS[int(fir) % len(STATIONS)])
        match = "exact" if listed == plate else "confusable"
        title = f"{label} {plate} at {camera.code}"
        if match == "confusable":
            title += f" (listed as {listed})"
        category = kind.removeprefix("hotlist.")
        detail = (
            f"Drill hotlist entry ({category}) from {DRILL_AGENCY}: {reason}. "
            f"Read {plate}, {match} match. "
            "Compare the plate crop with the entry before any field action."
        )
        return self._message(
            camera,
            at,
            source="hotlist",
            kind=kind,
            priority=priority,
            title=title,
            key=f"plate:{plate}:drill:{listed}",
            detail=detail,
            plate=plate,
            reference={
                "match": match,
                "listed_plate": listed,
                "reason": reason,
                "source_agency": DRILL_AGENCY,
            },
        ), plate

    @staticmethod
    def _look_alike(plate: str) -> str:
        """``plate`` with its last look-alike character swapped; itself if it has none."""
        for index in range(len(plate) - 1, -1, -1):
            swapped = LOOK_ALIKES.get(plate[index])
            if swapped is not None:
                return plate[:index] + swapped + plate[index + 1 :]
        return plate

    def _plate_text(self) -> str:
        from safecity.sim.plates import generate_plate

        return generate_plate(self._rng, "car").registration

    @staticmethod
    def _message(
        camera: DrillCamera,
        at: datetime,
        *,
        source: str,
        kind: str,
        priority: int,
        title: str,
        key: str,
        detail: str = "",
        plate: str | None = None,
        reference: dict[str, str] | None = None,
    ) -> AlertRaised:
        return AlertRaised.model_validate(
            {
                "source": source,
                "kind": kind,
                "priority": priority,
                "title": title,
                "detail": f"{detail} {DRILL_NOTE}".strip(),
                "at": at,
                "camera_id": camera.code,
                "district": camera.district,
                "correlation_key": key,
                "plate_text": plate,
                "reference": {**(reference or {}), "drill": "1"},
            }
        )


def draw_pictures(media_root: Path, plate: str, rng: np.random.Generator) -> tuple[str, str]:
    """A plate crop and a scene snapshot under ``media_root``; their relative paths."""
    import cv2

    from safecity.sim.plate_render import draw_plate
    from safecity.sim.plates import generate_plate

    design = generate_plate(rng, "car")
    letters = "".join(ch for ch in plate if ch.isalpha())
    digits = "".join(ch for ch in plate if ch.isdigit())
    design = replace(design, letters=letters, digits=digits)
    crop = draw_plate(design)
    scene = np.full((270, 480, 3), (92, 96, 100), np.uint8)
    cv2.rectangle(scene, (130, 70), (350, 230), (70, 60, 150), -1)  # the car's rear
    small = cv2.resize(crop, (120, max(1, round(120 * crop.shape[0] / crop.shape[1]))))
    y, x = 170, 180
    scene[y : y + small.shape[0], x : x + small.shape[1]] = small[: 270 - y, : 480 - x]
    folder = media_root / "alerts" / "drill"
    folder.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    paths = []
    for suffix, image in (("scene", scene), ("plate", crop)):
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not ok:
            raise RuntimeError("OpenCV could not encode a drill picture")
        relative = f"alerts/drill/{name}-{suffix}.jpg"
        (media_root / relative).write_bytes(data.tobytes())
        paths.append(relative)
    return paths[0], paths[1]


async def run_drill(
    bus: Bus,
    script: DrillScript,
    *,
    media_root: Path | None,
    every_seconds: float,
    stop: asyncio.Event,
) -> int:
    """Publish one alert every ``every_seconds`` (jittered) until ``stop``; returns the count."""
    rng = np.random.default_rng(script.seed + 1)
    sent = 0
    while not stop.is_set():
        message, plate = script.next(utcnow())
        if plate is not None and media_root is not None:
            snapshot, crop = await asyncio.to_thread(draw_pictures, media_root, plate, rng)
            message = message.model_copy(update={"snapshot": snapshot, "plate_crop": crop})
        try:
            await bus.publish(message)
            sent += 1
        except Exception:
            log.exception("alert drill could not publish; trying again later")
        pause = every_seconds * float(rng.uniform(0.5, 1.5))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
    return sent


class DrillThread:
    """The drill on a thread of its own (the demo's main thread runs the web server)."""

    def __init__(
        self, bus_url: str, cameras: list[DrillCamera], media_root: Path, every_seconds: float
    ) -> None:
        self._script = DrillScript(cameras)
        self._bus_url = bus_url
        self._media_root = media_root
        self._every = every_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="alert-drill", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        from safecity.bus.nats import NatsBus

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        bus = await NatsBus.connect(self._bus_url, name="alert-drill")
        try:
            await run_drill(
                bus,
                self._script,
                media_root=self._media_root,
                every_seconds=self._every,
                stop=self._stop,
            )
        finally:
            await bus.close()
