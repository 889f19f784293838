"""Site power: open alerts across districts, and each site's telemetry."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from safecity.web.charts import line_chart
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.templating import render

router = APIRouter()


@router.get("/power")
def power_page(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal, district: str = ""
) -> Response:
    with platform.transaction() as session:
        alerts = platform.power.alerts(session, principal, district=district or None)
        districts = platform.registry.list_districts(session, principal)
    return render(
        request,
        "power.html",
        {"alerts": alerts, "district": district, "districts": districts},
        principal=principal,
    )


@router.get("/sites/{site_id}/power")
def site_power_page(
    request: Request, site_id: int, platform: PlatformDep, principal: CurrentPrincipal
) -> Response:
    with platform.transaction() as session:
        site = platform.registry.site_summary(
            session, principal, platform.registry.get_site(session, principal, site_id)
        )
        series = platform.power.series(session, principal, site_id, hours=48)
        alerts = platform.power.alerts(
            session, principal, site_id=site_id, open_only=False, limit=50
        )
    t = platform.power.thresholds
    charts = [
        line_chart(
            [(r.at, r.battery_soc_pct) for r in series],
            label="Battery charge",
            unit="%",
            high=100,
            threshold=t.low_battery_pct,
        ),
        line_chart(
            [(r.at, r.solar_input_w) for r in series],
            label="Solar input",
            unit="W",
            threshold=t.min_solar_w,
        ),
        line_chart([(r.at, r.load_w) for r in series], label="Load", unit="W"),
        line_chart(
            [(r.at, r.temperature_c) for r in series], label="Cabinet temperature", unit="°C"
        ),
    ]
    latest = series[-1] if series else None
    return render(
        request,
        "site_power.html",
        {
            "site": site,
            "charts": charts,
            "alerts": alerts,
            "latest": latest,
            "samples": len(series),
        },
        principal=principal,
    )
