"""The demo's alert drill: seeded, contract-valid, realistic in mix (hotlist hits that
repeat and correlate, intrusions, loitering, cameras offline), with real pictures, and
flowing through NATS into the alert queue with nobody touching anything."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from safecity.bus.memory import MemoryBus
from safecity.command.alerts_errors import AlertMatchUnconfirmed
from safecity.command.alerts_match import refuse_unconfirmed_match
from safecity.command.alerts_models import Alert
from safecity.contracts.alerts import AlertRaised
from safecity.core.clock import utcnow
from safecity.sim.alert_drill import (
    DRILL_NOTE,
    DrillCamera,
    DrillScript,
    DrillThread,
    draw_pictures,
    run_drill,
)
from safecity.web.platform import Platform
from tests.command.alerts_support import console_server
from tests.factories import World

CAMERAS = [DrillCamera("PSH-TC1", "peshawar"), DrillCamera("PSH-TC2", "peshawar")]


def test_the_script_is_seeded_and_mixes_kinds() -> None:
    at = utcnow()
    script, again = DrillScript(CAMERAS, seed=3), DrillScript(CAMERAS, seed=3)
    runs = [script.next(at) for _ in range(300)]
    assert [m.title for m, _ in runs[:20]] == [
        m.title for m, _ in (again.next(at) for _ in range(20))
    ]
    other_seed = DrillScript(CAMERAS, seed=4)
    assert [m.title for m, _ in runs[:20]] != [
        m.title for m, _ in (other_seed.next(at + timedelta(seconds=1)) for _ in range(20))
    ]
    kinds = Counter(m.kind.split(".")[0] for m, _ in runs)
    assert set(kinds) == {"hotlist", "analytics", "health"}, kinds
    hotlist = [m for m, _ in runs if m.kind.startswith("hotlist")]
    keys = Counter(m.correlation_key for m in hotlist)
    assert max(keys.values()) >= 2, "some cars pass a second camera (correlated alerts)"
    for message, plate in runs:
        # Hotlist hits come as real ones do, so the plate check applies to them.
        assert message.source == ("hotlist" if message.kind.startswith("hotlist") else "simulator")
        assert DRILL_NOTE in message.detail
        assert message.reference["drill"] == "1"
        assert (plate is not None) == message.kind.startswith("hotlist")
        assert message.plate_text == plate
        assert message.camera_id in {"PSH-TC1", "PSH-TC2"}


def test_drilled_hotlist_hits_carry_what_the_plate_check_needs() -> None:
    """A drilled hit looks and behaves as a real one: the real kinds, the plate read, and
    the listed plate, reason and agency the operator compares the crop with; some are
    look-alike misreads to reject. None names a hotlist entry (there is none)."""
    at = utcnow()
    script = DrillScript(CAMERAS, seed=5)
    hits = [m for m, _ in (script.next(at) for _ in range(400)) if m.source == "hotlist"]
    assert {m.kind for m in hits} == {
        "hotlist.stolen",
        "hotlist.wanted",
        "hotlist.expired_registration",
    }, "the kinds real hotlist alerts use"
    matches = Counter(m.reference["match"] for m in hits)
    assert matches["exact"] > matches["confusable"] > 0, matches
    for message in hits:
        reference = message.reference
        assert set(reference) == {"match", "listed_plate", "reason", "source_agency", "drill"}
        assert message.plate_text is not None
        assert reference["reason"]
        assert reference["source_agency"]
        assert message.plate_text in message.title
        if reference["match"] == "exact":
            assert reference["listed_plate"] == message.plate_text
        else:
            assert reference["listed_plate"] != message.plate_text
            assert len(reference["listed_plate"]) == len(message.plate_text)
            assert f"(listed as {reference['listed_plate']})" in message.title


def test_a_drilled_hit_in_the_queue_needs_the_plate_check_like_a_real_one(
    platform: Platform, world: World
) -> None:
    script = DrillScript(CAMERAS, seed=5)
    message = next(m for m, _ in (script.next(utcnow()) for _ in range(50)) if m.plate_text)
    with platform.transaction() as session:
        ingested = platform.alerts.ingest(session, message)
    assert ingested is not None
    hit = ingested.alert.hotlist
    assert hit is not None, "shown with the plate check"
    assert (hit.read_plate, hit.listed_plate, hit.verdict) == (
        message.plate_text,
        message.reference["listed_plate"],
        None,
    )
    assert (hit.entry_id, hit.entry_state) == (None, None), "a drill names no real entry"
    with platform.transaction() as session:
        alert = session.get(Alert, ingested.alert.id)
        assert alert is not None
        with pytest.raises(AlertMatchUnconfirmed):
            refuse_unconfirmed_match(alert)


def test_pictures_are_real_jpegs_under_the_media_root(tmp_path: Path) -> None:
    snapshot, crop = draw_pictures(tmp_path, "LEB3656", np.random.default_rng(1))
    for relative in (snapshot, crop):
        image = cv2.imdecode(
            np.frombuffer((tmp_path / relative).read_bytes(), np.uint8), cv2.IMREAD_COLOR
        )
        assert image is not None, relative
        assert image.size > 0, relative
    # Paths the contract accepts (inside the media root, relative).
    AlertRaised.model_validate(
        {
            **DrillScript(CAMERAS).next(utcnow())[0].model_dump(),
            "snapshot": snapshot,
            "plate_crop": crop,
        }
    )


async def test_run_drill_publishes_until_stopped(tmp_path: Path) -> None:
    bus = MemoryBus()
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_drill(bus, DrillScript(CAMERAS), media_root=tmp_path, every_seconds=0.01, stop=stop)
    )
    await asyncio.sleep(0.5)
    stop.set()
    sent = await asyncio.wait_for(task, 5)
    assert sent >= 5
    received: list[AlertRaised] = []

    async def collect(message: AlertRaised) -> None:
        received.append(message)

    subscription = await bus.subscribe(AlertRaised, durable="drill-test", handler=collect)
    for _ in range(100):
        if len(received) >= sent:
            break
        await asyncio.sleep(0.02)
    await subscription.stop()
    assert len(received) == sent


@pytest.mark.nats
def test_drill_alerts_reach_the_queue_without_anyone_acting(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    with console_server(platform, tmp_path) as running:
        drill = DrillThread(running.bus_url, CAMERAS, platform.settings.media_dir, 0.1)
        drill.start()
        try:
            deadline = time.monotonic() + 30
            count = 0
            while time.monotonic() < deadline:
                with platform.sessions() as session:
                    count = session.scalar(select(func.count()).select_from(Alert)) or 0
                if count >= 5:
                    break
                time.sleep(0.2)
        finally:
            drill.stop()
    assert count >= 5, "the drill's alerts did not reach the queue"
