"""The demo's background activity: simulated alerts for the console and field units
patrolling the districts."""

from __future__ import annotations

from contextlib import ExitStack

from sqlalchemy import select

from safecity.core.settings import Settings
from safecity.identity.system import system_principal
from safecity.registry.models import Camera, District
from safecity.web.platform import Platform

DRILL_EVERY_SECONDS = 12.0  # one simulated alert this often, give or take half
DRILL_CAMERAS_PER_DISTRICT = 6
FLEET_EVERY_SECONDS = 3.0  # each simulated unit reports its position this often


def start_alert_drill(
    stack: ExitStack, settings: Settings, platform: Platform, bus_url: str
) -> int:
    """Simulated alerts for the console (sim/alert_drill.py); returns the cameras named."""
    from safecity.sim.alert_drill import DrillCamera, DrillThread

    with platform.sessions() as session:
        rows = session.execute(
            select(Camera.code, District.slug)
            .join(District, District.id == Camera.district_id)
            .where(Camera.status == "online")
            .order_by(Camera.code)
        ).all()
    # A few cameras per district, so every district's operators have something to do.
    per_district: dict[str, list[str]] = {}
    for code, slug in rows:
        if len(per_district.setdefault(slug, [])) < DRILL_CAMERAS_PER_DISTRICT:
            per_district[slug].append(code)
    cameras = [DrillCamera(code, slug) for slug, codes in per_district.items() for code in codes]
    if not cameras:
        return 0
    drill = DrillThread(bus_url, cameras, settings.media_dir, DRILL_EVERY_SECONDS)
    drill.start()
    stack.callback(drill.stop)
    return len(cameras)


def start_fleet(stack: ExitStack, settings: Settings, platform: Platform) -> int:
    """Simulated field units driving the demo districts (sim/fleet.py), talking to this
    server's API with their own tokens; returns the number of units."""
    import httpx

    from safecity.command.units_seed import seed_demo_fleet
    from safecity.sim.fleet import Fleet, FleetConfig, FleetThread, Route, SimUnit

    with platform.transaction() as session:
        districts = seed_demo_fleet(
            session, platform.identity, platform.units, system_principal("demo fleet")
        )
    scheme = "https" if settings.tls_certfile else "http"
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    client = httpx.Client(
        base_url=f"{scheme}://{host}:{settings.port}",
        timeout=10.0,
        # The demo's own certificate is the only authority this client needs.
        verify=str(settings.tls_certfile) if settings.tls_certfile else True,
    )
    stack.callback(client.close)
    fleets = [
        Fleet(
            client,
            [
                SimUnit(u.unit_id, u.callsign, u.token, Route(u.route), u.route[0])
                for u in district.units
            ],
            FleetConfig(dispatcher_token=district.dispatcher_token, district=district.slug),
        )
        for district in districts
    ]
    thread = FleetThread(fleets, every_seconds=FLEET_EVERY_SECONDS)
    thread.start()
    stack.callback(thread.stop)
    return sum(len(d.units) for d in districts)
