"""Small server-drawn SVG charts: no chart library, no inline script, nothing to fetch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from markupsafe import Markup

from safecity.core.clock import to_pkt


def line_chart(
    points: Sequence[tuple[datetime, float | None]],
    *,
    label: str,
    unit: str,
    low: float = 0.0,
    high: float | None = None,
    threshold: float | None = None,
    width: int = 640,
    height: int = 140,
) -> Markup:
    """A time series as an SVG polyline with min/max labels and an optional threshold line."""
    values = [(t, v) for t, v in points if v is not None]
    head = (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f"<desc>{len(values)} samples</desc>"
    )
    if len(values) < 2:
        empty = f'<text x="10" y="{height // 2}">No {escape(label.lower())} readings</text>'
        return _markup(head + empty + "</svg>")
    top = high if high is not None else max(v for _, v in values)
    top = max(top, low + 1e-6)
    t0, t1 = values[0][0], values[-1][0]
    span = max((t1 - t0).total_seconds(), 1.0)
    pad_left, pad_bottom = 48, 18
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - 8

    def xy(at: datetime, value: float) -> tuple[float, float]:
        x = pad_left + (at - t0).total_seconds() / span * plot_w
        y = 8 + plot_h - (min(max(value, low), top) - low) / (top - low) * plot_h
        return round(x, 1), round(y, 1)

    path = " ".join(f"{x},{y}" for x, y in (xy(t, v) for t, v in values))
    first, last = f"{to_pkt(t0):%d-%m %H:%M}", f"{to_pkt(t1):%d-%m %H:%M} PKT"
    parts = [
        head,
        f'<rect x="{pad_left}" y="8" width="{plot_w}" height="{plot_h}" class="plot"/>',
        f'<text x="4" y="16" class="axis">{top:.0f} {escape(unit)}</text>',
        f'<text x="4" y="{8 + plot_h}" class="axis">{low:.0f} {escape(unit)}</text>',
        f'<text x="{pad_left}" y="{height - 4}" class="axis">{first}</text>',
        f'<text x="{width - 8}" y="{height - 4}" class="axis end">{last}</text>',
    ]
    if threshold is not None and low <= threshold <= top:
        _, y = xy(t0, threshold)
        parts.append(
            f'<line x1="{pad_left}" x2="{pad_left + plot_w}" y1="{y}" y2="{y}" class="threshold"/>'
        )
    parts.append(f'<polyline points="{path}" class="series"/></svg>')
    return _markup("".join(parts))


def _markup(svg: str) -> Markup:
    # Safe: every text placed in the SVG above went through html.escape; the rest are numbers.
    return Markup(svg)  # noqa: S704
