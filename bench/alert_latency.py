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
        [--no-browser] [--stages] [--page-probe] [--page-trace trace.json]

``--stages`` times the server's side (see ``stage_probe.py``); ``--page-probe`` the
page's: when chromium's renderer took each frame in (CDP), when the page's message
handler started and how long it ran, when the row went in, when the next animation frame
began, and the page's long tasks. ``--page-trace`` writes chromium's timeline trace
(layout, paint, scripts) of the measured window, for chrome://tracing or Perfetto.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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


# With --page-probe: each console WebSocket message the page handles is timed (when its
# handler started, how long it ran, which bench alerts it carried, when the next animation
# frame began), and chromium's long tasks (over 50 ms on the page's main thread) are kept.
PAGE_PROBE = """(() => {
  const probe = { frames: [], longtasks: [] };
  window.benchProbe = probe;
  const seqs = /"title": ?"bench [0-9a-f]+-(\\d+)"/g;
  const add = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function (type, listener, options) {
    if (type !== "message") return add.call(this, type, listener, options);
    return add.call(this, type, function (event) {
      const started = performance.timeOrigin + performance.now();
      listener.call(this, event);
      const ended = performance.timeOrigin + performance.now();
      const carried = [...String(event.data).matchAll(seqs)].map((m) => Number(m[1]));
      const record = [started, ended, 0, carried];
      probe.frames.push(record);
      requestAnimationFrame(() => { record[2] = performance.timeOrigin + performance.now(); });
    }, options);
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      probe.longtasks.push([performance.timeOrigin + e.startTime, e.duration]);
    }
  }).observe({ type: "longtask", buffered: true });
})();"""


TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8"]


async def _browser(
    base_url: str, opened: asyncio.Event, stop: asyncio.Event, page_probe: bool, trace: str | None
) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = await (await browser.new_context()).new_page()
        # The time chromium's network stack took each frame in (CDP), before the page's
        # main thread got to it: tells a late server from a busy page.
        received: list[tuple[float, str]] = []
        clock: list[float] = []
        if page_probe:
            await page.add_init_script(PAGE_PROBE)
            cdp = await page.context.new_cdp_session(page)

            def on_handshake(event: dict[str, Any]) -> None:
                if not clock:
                    clock.append(event["wallTime"] - event["timestamp"])

            def on_frame(event: dict[str, Any]) -> None:
                received.append((event["timestamp"], event["response"]["payloadData"]))

            cdp.on("Network.webSocketWillSendHandshakeRequest", on_handshake)
            cdp.on("Network.webSocketFrameReceived", on_frame)
            await cdp.send("Network.enable")
        await sign_in_async(page, base_url, "bench-operator", PASSWORD)
        await page.goto(f"{base_url}/console")
        await page.wait_for_selector("#console[data-ready='1'][data-feed='live']", timeout=60_000)
        if trace:
            await browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        opened.set()
        await stop.wait()
        if trace:
            Path(trace).write_bytes(await browser.stop_tracing())
        shown: list[list[Any]] = await page.evaluate(
            """() => window.safecityConsole.shown.map(([id, at]) =>
                 [window.safecityConsole.alerts.get(id)?.title || "", at / 1000])"""
        )
        probe: dict[str, Any] = {}
        if page_probe:
            probe = await page.evaluate("() => window.benchProbe")
            offset = clock[0] if clock else 0.0
            probe["network"] = [
                [offset + at, [int(m.group(2)) for m in TITLE.finditer(text)]]
                for at, text in received
            ]
        await browser.close()
        return {"shown": shown, "probe": probe}


def page_stages(
    probe: dict[str, Any],
    published: dict[int, float],
    counted: set[int],
    shown: list[list[Any]],
    run: str,
) -> str:
    """The browser's share of each counted alert's time, from the --page-probe records."""
    first: dict[str, dict[int, float]] = {
        "network": {},
        "handler": {},
        "shown": {},
        "frame": {},
    }
    for at, seqs in probe.get("network", []):
        for seq in seqs:
            first["network"].setdefault(seq, at)
    durations, sizes = [], []
    for started, ended, frame_at, seqs in probe.get("frames", []):
        durations.append((ended - started) / 1000)
        if seqs:
            sizes.append(len(seqs))
        for seq in seqs:
            first["handler"].setdefault(seq, started / 1000)
            if frame_at:
                first["frame"].setdefault(seq, frame_at / 1000)
    for title, at in shown:
        match = re.fullmatch(r"bench ([0-9a-f]+)-(\d+)", title)
        if match and match.group(1) == run:
            first["shown"].setdefault(int(match.group(2)), at)
    lines = []
    points = [("published", published), *first.items()]
    for (name_a, a), (name_b, b) in itertools.pairwise(points):
        gaps = [b[s] - a[s] for s in counted if s in a and s in b]
        stats = summary(gaps)
        lines.append(
            f"  page: {name_a} -> {name_b}: p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms, "
            f"max {stats['max']:.1f} ms ({len(gaps)} alerts)"
        )
    stats = summary(durations)
    lines.append(
        f"  page: message handler: {len(durations)} messages, {statistics.mean(sizes or [0]):.1f} "
        f"alerts each, p50 {stats['p50']:.1f} ms, p95 {stats['p95']:.1f} ms, "
        f"max {stats['max']:.1f} ms, total {1000 * sum(durations):.0f} ms"
    )
    longtasks = [duration for _, duration in probe.get("longtasks", [])]
    lines.append(
        f"  page: long tasks: {len(longtasks)}, total {sum(longtasks):.0f} ms, "
        f"max {max(longtasks or [0]):.0f} ms"
    )
    return "\n".join(lines)


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
    browser = asyncio.create_task(
        _browser(args.base_url, opened, stop, args.page_probe, args.page_trace)
    )
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
    page = {"shown": [], "probe": {}} if args.no_browser else await browser
    shown = page["shown"]
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
        "page_stages": page_stages(page["probe"], published, set(counted), shown, run)
        if args.page_probe
        else "",
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


def parse_args() -> argparse.Namespace:
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
    parser.add_argument(
        "--page-probe",
        action="store_true",
        help="time the console page's side: network, message handler, row, next frame",
    )
    parser.add_argument("--page-trace", help="write chromium's trace of the run to this file")
    parser.add_argument("--clients-only", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--ws-url", "--base-url", "--bus-url", "--token", "--cameras"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
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
                            *(["--page-probe"] if args.page_probe else []),
                            *([f"--page-trace={args.page_trace}"] if args.page_trace else []),
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
                    if result["page_stages"]:
                        print(result["page_stages"], flush=True)
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
