"""The demo's hotlist: a few vehicles of the simulated clips listed as stolen or wanted.

Without it a demo plate read matches nothing and the console's hotlist alerts come only
from the alert drill, which publishes alerts without any read behind them. Listing
vehicles that really drive past the demo's ANPR cameras lets a visitor watch the whole
path: the camera's frames, the analytics' read, the match and the alert, with the plate
crop to confirm.

The entries go through the hotlist service as any officer's would (audited, refused
when already listed), and are chosen from the ground truth of the render: vehicles whose
plate is large and sharp on an ANPR camera, so the reader has a fair chance at them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.events.hotlists import HotlistService
from safecity.events.models import HotlistCategory, HotlistEntry
from safecity.events.schemas import HotlistEntryCreate
from safecity.identity.permissions import Principal
from safecity.sim.truth import GroundTruth, VehicleTruth

DEMO_AGENCY = "Demo (simulated vehicles)"
MIN_PLATE_PX = 17.0
MAX_MOTION_BLUR = 0.1
MAX_GLARE = 0.5
_LISTINGS: tuple[tuple[HotlistCategory, int, str], ...] = (
    ("stolen", 1, "Demo: reported stolen (simulated FIR), stop and verify"),
    ("wanted", 1, "Demo: linked to a simulated robbery case, do not stop alone"),
    ("expired_registration", 4, "Demo: token tax unpaid (simulated)"),
    ("stolen", 1, "Demo: reported stolen (simulated FIR), stop and verify"),
)


def readable_vehicles(truth: GroundTruth) -> list[VehicleTruth]:
    """Vehicles the render's ANPR cameras show with a plate the reader takes well: one
    line, at least MIN_PLATE_PX high, little motion blur or glare; those seen by more
    cameras first (more chances to be read), then the larger plates.

    The limits follow what the demo's reader read in a run of these clips (2026-12-07):
    one-line plates of 17-21 px with blur up to 0.1, day or night; two-line plates and
    blurred ones mostly not."""
    anpr_cameras = {camera.id for camera in truth.cameras if camera.view == "anpr"}
    scored: list[tuple[int, float, VehicleTruth]] = []
    for vehicle in truth.vehicles:
        effects = vehicle.plate_effects
        if (
            vehicle.plate_layout != "one_line"
            or effects.motion_blur > MAX_MOTION_BLUR
            or effects.glare > MAX_GLARE
        ):
            continue
        heights = [
            appearance.plate_height_px
            for appearance in vehicle.appearances
            if appearance.camera_id in anpr_cameras and appearance.plate_height_px is not None
        ]
        if heights and max(heights) >= MIN_PLATE_PX:
            scored.append((len(heights), max(heights), vehicle))
    scored.sort(key=lambda item: (-item[0], -item[1], item[2].id))
    return [vehicle for _, _, vehicle in scored]


def list_demo_vehicles(
    session: Session, hotlists: HotlistService, principal: Principal, truth: GroundTruth
) -> list[str]:
    """List up to four readable vehicles of ``truth``; returns the plates newly listed.

    Run again on the same data folder, it lists nothing twice: the demo's entries are
    recognised by their source agency."""
    already = set(
        session.scalars(select(HotlistEntry.plate).where(HotlistEntry.source_agency == DEMO_AGENCY))
    )
    if already:
        return []
    listed: list[str] = []
    for vehicle, (category, priority, reason) in zip(
        readable_vehicles(truth), _LISTINGS, strict=False
    ):
        entry = hotlists.create(
            session,
            principal,
            HotlistEntryCreate(
                plate=vehicle.plate,
                category=category,
                reason=reason,
                source_agency=DEMO_AGENCY,
                priority=priority,
            ),
        )
        listed.append(f"{entry.plate} ({entry.category})")
    return listed
