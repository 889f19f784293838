"""Alert latency from an AlertRaised published on the bus to the alert shown in a connected
console: p50 and p95 at 1, 50 and 200 connected consoles and 100 alerts/s (goal: p95
under 250 ms), with asyncio WebSocket clients as the load and one real browser
(Debian's chromium, the console page) measured at the same time.

The application runs in this process under uvicorn with a private NATS server (as
``safecity up`` does: outbox relay, the alert consumer storing each alert in its own
transaction, the hub). The consoles, the browser driver and the publisher run in a
child process, so the two processes compete for the machine's two cores as a server
and its clients would. Each alert has its own correlation key, so each is a new alert.
A WebSocket console's latency is from just before ``publish`` to the frame received;
the browser's is to the moment the console script put the alert's row in the queue.
The first ``--warmup`` seconds of each run are not counted.

    .venv/bin/python bench/alert_latency.py [--consoles 1,50,200] [--rate 100]
        [--seconds 10] [--warmup 2] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from tests.api.routes_command import alert_message  # noqa: E402
from tests.command.alerts_support import (  # noqa: E402
    console_server,
    demo_platform,
    sign_in_async,
)
from tests.factories import PASSWORD, make_user, token_for  # noqa: E402

from safecity.registry.models import Camera  # noqa: E402
from stage_probe import StageProbe  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
TITLE = re.compile(r'"title": ?"bench ([0-9a-f]+)-(\d+)"')
DRAIN_SECONDS = 15


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {
        "p50": statistics.median(latencies) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "max": max(latencies) * 1000,
    }


# -- the child: consoles, browser, publisher ------------------------------------------------


async def _console(
    url: str, token: str, run: str, seen: dict[int, float], ready: asyncio.Event
) -> None:
    from websockets.asyncio.client import connect

    async with connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, max_queue=None
    ) as socket:
        await socket.recv()  # hello
        ready.set()
        async for frame in socket:
            now = time.time()
            text = frame if isinstance(frame, str) else frame.decode()
            for match in TITLE.finditer(text):  # a batch frame carries several alerts
                if match.group(1) == run:
                    seen.setdefault(int(match.group(2)), now)


async def _browser(base_url: str, opened: asyncio.Event, stop: asyncio.Event) -> list[list[Any]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = await (await browser.new_context()).new_page()
        await sign_in_async(page, base_url, "bench-operator", PASSWORD)
        await page.goto(f"{base_url}/console")
        await page.wait_for_selector("#console[data-ready='1'][data-feed='live']", timeout=60_000)
        opened.set()
        await stop.wait()
        shown: list[list[Any]] = await page.evaluate(
            """() => window.safecityConsole.shown.map(([id, at]) =>
                 [window.safecityConsole.alerts.get(id)?.title || "", at / 1000])"""
        )
        await browser.close()
        return shown


async def clients(args: argparse.Namespace) -> dict[str, Any]:
    from safecity.bus.nats import NatsBus

    run = uuid.uuid4().hex[:8]
    codes = args.cameras.split(",")
    received: list[dict[int, float]] = [{} for _ in range(args.consoles)]
    readies = [asyncio.Event() for _ in range(args.consoles)]
    tasks = [
        asyncio.create_task(_console(args.ws_url, args.token, run, received[i], readies[i]))
        for i in range(args.consoles)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
    opened, stop = asyncio.Event(), asyncio.Event()
    browser = asyncio.create_task(_browser(args.base_url, opened, stop))
    if args.no_browser:
        browser.cancel()
        opened.set()
    await asyncio.wait_for(opened.wait(), 120)
    bus = await NatsBus.connect(args.bus_url, name="bench-publisher")
    cpu_at_start, wall_at_start = time.process_time(), time.monotonic()
    published: dict[int, float] = {}
    total = int(args.rate * (args.seconds + args.warmup))
    start = time.monotonic()
    for seq in range(total):
        delay = start + seq / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        message = alert_message(
            codes[seq % len(codes)], title=f"bench {run}-{seq}", correlation_key=f"b:{run}:{seq}"
        )
        published[seq] = time.time()
        await bus.publish(message)
    publish_seconds = time.monotonic() - start
    counted = [s for s in published if s >= args.rate * args.warmup]
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        if all(len(r) >= total for r in received):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    # The clients share the two cores with the server: how much of a core they took.
    client_cpu = (time.process_time() - cpu_at_start) / (time.monotonic() - wall_at_start)
    stop.set()
    shown = [] if args.no_browser else await browser
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await bus.close()
    ws = [r[s] - published[s] for r in received for s in counted if s in r]
    in_browser: list[float] = []
    for title, at in shown:
        match = re.fullmatch(r"bench ([0-9a-f]+)-(\d+)", title)
        if match and match.group(1) == run and int(match.group(2)) in counted:
            in_browser.append(at - published[int(match.group(2))])
    return {
        "consoles": args.consoles,
        "rate": args.rate,
        "achieved_rate": total / publish_seconds,
        "counted": len(counted),
        "ws": summary(ws),
        "ws_delivered": len(ws) / (len(counted) * args.consoles),
        "browser": summary(in_browser),
        "browser_delivered": len(in_browser) / len(counted),
        "client_cpu": client_cpu,
        "published": published if args.stages else {},
        "counted_seqs": counted if args.stages else [],
    }


# -- the parent: the application --------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consoles", default="1,50,200")
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-browser", action="store_true", help="WebSocket consoles only")
    parser.add_argument(
        "--stages",
        action="store_true",
        help="time each stage in the server and list what overlapped the slowest alerts",
    )
    parser.add_argument("--clients-only", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--ws-url", "--base-url", "--bus-url", "--token", "--cameras"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clients_only:
        args.consoles = int(args.consoles)
        print(json.dumps(asyncio.run(clients(args))))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="alert-latency-") as tmp:
        data = Path(tmp)
        platform = demo_platform(data, args.database_url)
        make_user(platform, "bench-operator", ["operator"], all_districts=True)
        token = token_for(platform, "bench-operator")
        with platform.sessions() as session:
            codes = list(
                session.scalars(
                    select(Camera.code)
                    .where(Camera.status == "online")
                    .order_by(Camera.code)
                    .limit(50)
                )
            )
        probe = StageProbe() if args.stages else None
        if probe is not None:
            probe.install(platform)
        try:
            with console_server(platform, data) as running:
                for consoles in (int(c) for c in args.consoles.split(",")):
                    if probe is not None:
                        probe.reset()
                    server_cpu, server_wall = time.process_time(), time.monotonic()
                    children_before = _children_cpu()
                    child = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--clients-only",
                            f"--consoles={consoles}",
                            f"--rate={args.rate}",
                            f"--seconds={args.seconds}",
                            f"--warmup={args.warmup}",
                            f"--ws-url={running.ws_url}",
                            f"--base-url={running.base_url}",
                            f"--bus-url={running.bus_url}",
                            f"--token={token}",
                            f"--cameras={','.join(codes)}",
                            *(["--no-browser"] if args.no_browser else []),
                            *(["--stages"] if args.stages else []),
                        ],
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    if child.returncode != 0:
                        raise SystemExit(f"the clients failed:\n{child.stderr[-3000:]}")
                    result = json.loads(child.stdout.strip().splitlines()[-1])
                    # Over the child's whole life (connecting, browser start, drain too).
                    wall = time.monotonic() - server_wall
                    result["server_cpu"] = (time.process_time() - server_cpu) / wall
                    # The client process with chromium and its driver, once reaped.
                    result["all_clients_cpu"] = (_children_cpu() - children_before) / wall
                    result["wall_seconds"] = wall
                    results.append(result)
                    print(format_row(result), flush=True)
                    if probe is not None:
                        published = {int(k): v for k, v in result["published"].items()}
                        print(probe.report(published, set(result["counted_seqs"])), flush=True)
        finally:
            if probe is not None:
                probe.uninstall()
            platform.dispose()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def format_row(r: dict[str, Any]) -> str:
    ws, br = r["ws"], r["browser"]
    return (
        f"{r['consoles']:>4} consoles, {r['achieved_rate']:.0f} alerts/s, {r['counted']} counted: "
        f"WebSocket p50 {ws['p50']:.0f} ms, p95 {ws['p95']:.0f} ms, max {ws['max']:.0f} ms "
        f"({100 * r['ws_delivered']:.1f} % delivered); browser p50 {br['p50']:.0f} ms, "
        f"p95 {br['p95']:.0f} ms, max {br['max']:.0f} ms ({100 * r['browser_delivered']:.1f} %); "
        f"CPU: server {r['server_cpu']:.2f} cores, WebSocket clients {r['client_cpu']:.2f}, "
        f"clients with chromium {r['all_clients_cpu']:.2f} (over {r['wall_seconds']:.0f} s)"
    )


if __name__ == "__main__":
    main()
