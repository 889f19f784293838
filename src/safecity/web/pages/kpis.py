"""The KPI dashboard: response intervals per district, agency and priority as SVG bars
(median with the 90th percentile beside it), alert figures per district, CSV export."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from safecity.command.kpis import INTERVALS
from safecity.core.clock import utcnow
from safecity.web.api.kpis import window_of
from safecity.web.deps import CurrentPrincipal, PlatformDep
from safecity.web.templating import render

router = APIRouter()
LABELS = {
    "call_to_create": "Call to create",
    "create_to_dispatch": "Create to dispatch",
    "dispatch_to_en_route": "Dispatch to en route",
    "travel": "Travel (en route to on scene)",
    "total_response": "Total response (call to on scene)",
}


def bar_chart(
    rows: Sequence[tuple[str, float | None, float | None]],
    *,
    label: str,
    target: float | None = None,
    width: int = 640,
) -> Markup:
    """Horizontal bars: one per row, the median filled, the 90th percentile as a tick."""
    bar_h, pad_left = 18, 190
    height = 24 + bar_h * 2 * max(len(rows), 1)
    values = [v for _, m, p in rows for v in (m, p) if v is not None]
    top = max([*values, target or 0.0, 1.0])
    scale = (width - pad_left - 70) / top
    parts = [
        f'<svg class="bars" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
    ]
    if not rows:
        parts.append('<text x="10" y="20">No incidents in this window</text>')
    for n, (name, median, p90) in enumerate(rows):
        y = 12 + n * bar_h * 2
        parts.append(f'<text x="4" y="{y + 13}">{escape(name)}</text>')
        if median is None:
            parts.append(f'<text x="{pad_left}" y="{y + 13}">no data</text>')
            continue
        parts.append(
            f'<rect class="bar" x="{pad_left}" y="{y}" width="{max(median * scale, 1):.1f}" '
            f'height="{bar_h}"/>'
        )
        text = f"{median / 60:.1f} min" + (f" · p90 {p90 / 60:.1f}" if p90 is not None else "")
        if p90 is not None:
            x = pad_left + p90 * scale
            parts.append(
                f'<line class="target" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + bar_h}"/>'
            )
        end = pad_left + max(median, p90 or 0) * scale + 6
        parts.append(f'<text x="{end:.1f}" y="{y + 13}">{text}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above


@router.get("/kpis")
def kpis_page(
    request: Request, platform: PlatformDep, principal: CurrentPrincipal, hours: int = 24
) -> Response:
    hours = min(max(hours, 1), 24 * 90)
    window = window_of(utcnow() - timedelta(hours=hours), None)
    with platform.transaction() as session:
        report = platform.kpis.report(session, principal, window, district=None)
    charts = []
    for name, _, _ in INTERVALS:
        rows = [
            (
                f"{r.district} {r.agency} P{r.priority}",
                getattr(r, name).median_seconds,
                getattr(r, name).p90_seconds,
            )
            for r in report.responses
        ]
        charts.append(bar_chart(rows, label=LABELS[name]))
    return render(
        request,
        "kpis.html",
        {
            "report": report,
            "charts": zip([LABELS[n] for n, _, _ in INTERVALS], charts, strict=True),
            "hours": hours,
        },
        principal=principal,
    )
