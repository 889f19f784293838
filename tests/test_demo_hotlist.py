"""The demo lists a few of its own simulated vehicles, so a real read raises a real alert."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.demo.hotlist import (
    DEMO_AGENCY,
    MAX_GLARE,
    MAX_MOTION_BLUR,
    MIN_PLATE_PX,
    list_demo_vehicles,
    readable_vehicles,
)
from safecity.events.models import HotlistEntry
from safecity.identity.system import system_principal
from safecity.sim.render import render_city
from safecity.sim.truth import GroundTruth
from safecity.web.platform import Platform


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> GroundTruth:
    folder = tmp_path_factory.mktemp("demo-hotlist")
    return render_city(7, 40, Path(folder), cameras=2, width=1280, height=720, fps=5, view="anpr")


def test_only_vehicles_with_a_plate_a_reader_can_take_are_chosen(truth: GroundTruth) -> None:
    chosen = readable_vehicles(truth)
    assert chosen, "a 40 s render has sharp one-line plates of 17 px and more"
    for vehicle in chosen:
        assert vehicle.plate_layout == "one_line"
        assert vehicle.plate_effects.motion_blur <= MAX_MOTION_BLUR
        assert vehicle.plate_effects.glare <= MAX_GLARE
        assert max(a.plate_height_px or 0.0 for a in vehicle.appearances) >= MIN_PLATE_PX
    left_out = {v.plate for v in truth.vehicles} - {v.plate for v in chosen}
    assert left_out, "some vehicles are too small, blurred or two-line to list"
    seen = [
        (len(v.appearances), max(a.plate_height_px or 0.0 for a in v.appearances)) for v in chosen
    ]
    assert seen == sorted(seen, reverse=True), "seen by more cameras first, then larger plates"


def test_the_demo_lists_four_vehicles_once_through_the_audited_service(
    platform: Platform, truth: GroundTruth
) -> None:
    admin = system_principal("demo video")
    with platform.transaction() as session:
        listed = list_demo_vehicles(session, platform.hotlists, admin, truth)
    expected = [v.plate for v in readable_vehicles(truth)[:4]]
    assert [item.split(" ")[0] for item in listed] == expected
    with platform.transaction() as session:
        entries = session.scalars(
            select(HotlistEntry).where(HotlistEntry.source_agency == DEMO_AGENCY)
        ).all()
        assert sorted(e.plate for e in entries) == sorted(expected)
        assert {e.category for e in entries} == {"stolen", "wanted", "expired_registration"}
        assert all(e.active and e.reason.startswith("Demo:") for e in entries)
        audited = session.scalars(
            select(AuditRecord.summary).where(
                AuditRecord.object_type == "hotlist_entry", AuditRecord.action == "create"
            )
        ).all()
        assert sorted(s.split(" ")[1] for s in audited) == sorted(expected)
    # The next start of the demo on the same data folder lists nothing again.
    with platform.transaction() as session:
        assert list_demo_vehicles(session, platform.hotlists, admin, truth) == []
        count = len(session.scalars(select(HotlistEntry.id)).all())
    assert count == len(expected)
