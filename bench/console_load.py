"""Operator console page load with 2,000 cameras and 500 open alerts (goal: under 2 s).

The demo province is seeded, topped up to ``--cameras`` cameras at its sites, and given
``--alerts`` open alerts through the same ingest path the bus consumer uses. The
application runs under uvicorn with NATS (as ``safecity up``); Debian's chromium, driven
by Playwright, signs in once as a province-wide operator and then loads ``/console``
``--runs`` times. Load time is from navigation start to the moment the console marks
itself ready: the queue rendered (all open alerts, up to 500) and the map's cameras
and sites drawn. The first run (cold caches) is reported apart.

    .venv/bin/python bench/console_load.py [--cameras 2000] [--alerts 500] [--runs 7]
        [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from tests.api.routes_command import alert_message  # noqa: E402
from tests.command.alerts_support import (  # noqa: E402
    console_server,
    demo_platform,
    sign_in_async,
)
from tests.factories import PASSWORD, make_user  # noqa: E402

from safecity.core.clock import utcnow  # noqa: E402
from safecity.registry.models import Camera, Site  # noqa: E402
from safecity.web.platform import Platform  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# How long the page itself and its two API calls took (server time plus transfer).
RESOURCE_TIMES = """() => performance.getEntries()
  .filter(e => /console$|alerts\\?|map\\/features/.test(e.name))
  .map(e => [e.name.replace(/^https?:\\/\\/[^/]+/, '').split('?')[0], e.duration])"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]


def top_up_cameras(platform: Platform, total: int) -> int:
    """Add cameras at the demo sites until there are ``total``."""
    with platform.transaction() as session:
        have = session.scalar(select(func.count()).select_from(Camera)) or 0
        sites = list(session.scalars(select(Site).order_by(Site.id)))
        for n in range(max(0, total - have)):
            site = sites[n % len(sites)]
            session.add(
                Camera(
                    code=f"BENCH-{n:05d}",
                    name=f"Bench camera {n}",
                    site_id=site.id,
                    district_id=site.district_id,
                    status="online" if n % 7 else "offline",
                    latitude=site.latitude + (n % 10) * 1e-4,
                    longitude=site.longitude + (n % 13) * 1e-4,
                )
            )
    with platform.sessions() as session:
        return session.scalar(select(func.count()).select_from(Camera)) or 0


def raise_alerts(platform: Platform, count: int) -> None:
    with platform.sessions() as session:
        codes = list(session.scalars(select(Camera.code).order_by(Camera.id).limit(count)))
    now = utcnow()
    with platform.transaction() as session:
        for n in range(count):
            message = alert_message(
                codes[n % len(codes)],
                title=f"Bench alert {n}",
                priority=1 + n % 5,
                at=now - timedelta(seconds=n),
            )
            platform.alerts.ingest(session, message)


async def measure(base_url: str, runs: int) -> list[float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context(viewport={"width": 1600, "height": 900})
        page = await context.new_page()
        await sign_in_async(page, base_url, "bench-operator", PASSWORD)
        times = []
        for _ in range(runs):
            await page.goto("about:blank")
            await page.goto(f"{base_url}/console")
            await page.wait_for_selector("#console[data-ready='1']", timeout=60_000)
            ready_ms = await page.evaluate("performance.now()")
            shown = await page.evaluate("document.querySelectorAll('#alert-queue li').length")
            fetches = await page.evaluate(RESOURCE_TIMES)
            times.append(ready_ms / 1000)
            print(
                f"  load {ready_ms / 1000:.2f} s, {shown} alerts in the queue; "
                + ", ".join(f"{name} {ms:.0f} ms" for name, ms in fetches),
                flush=True,
            )
        await browser.close()
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="console-load-") as tmp:
        data = Path(tmp)
        started = time.monotonic()
        platform = demo_platform(data, args.database_url)
        cameras = top_up_cameras(platform, args.cameras)
        raise_alerts(platform, args.alerts)
        make_user(platform, "bench-operator", ["operator"], all_districts=True)
        print(
            f"seeded {cameras} cameras, {args.alerts} alerts in {time.monotonic() - started:.0f} s"
        )
        try:
            with console_server(platform, data) as running:
                times = asyncio.run(measure(running.base_url, args.runs))
        finally:
            platform.dispose()
    cold, warm = times[0], sorted(times[1:]) or [times[0]]
    p95 = warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))]
    print(
        f"console load, {cameras} cameras, {args.alerts} open alerts: cold {cold:.2f} s; "
        f"warm median {statistics.median(warm):.2f} s, p95 {p95:.2f} s, max {warm[-1]:.2f} s "
        f"over {len(warm)} loads (goal: under 2 s)"
    )


if __name__ == "__main__":
    main()
