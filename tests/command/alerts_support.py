"""A real control plane for the alert feed: NATS, the application under uvicorn (with
WebSockets) in a thread of this process, so tests and benchmarks can read the same
database. Used by the feed tests, the console browser tests and ``bench/alert_*``."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from safecity.bus.server import NatsServer
from safecity.contracts.alerts import AlertRaised
from safecity.contracts.base import SCHEMA_HEADER, VERSION_HEADER
from safecity.web.app import create_app
from safecity.web.platform import Platform


@dataclass(frozen=True)
class RunningConsole:
    base_url: str
    ws_url: str
    bus_url: str
    platform: Platform


@contextmanager
def console_server(platform: Platform, data_dir: Path) -> Iterator[RunningConsole]:
    """NATS plus the application (outbox relay, bus consumers, hub) on loopback."""
    with NatsServer(data_dir / "nats") as nats:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            # As safecity.web.server builds it, so that the benchmarks measure the same.
            create_app(platform, bus_url=nats.url, freeze_heap=True),
            ws="websockets-sansio",
            ws_per_message_deflate=False,  # as safecity.web.server runs it
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="console-server", daemon=True
        )
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the console server did not start")
                time.sleep(0.02)
            yield RunningConsole(
                base_url=f"http://127.0.0.1:{port}",
                ws_url=f"ws://127.0.0.1:{port}/ws/console",
                bus_url=nats.url,
                platform=platform,
            )
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            sock.close()


async def publish_raw(bus_url: str, payload: bytes) -> None:
    """Put bytes on the alert subject as a broken publisher would (headers say AlertRaised)."""
    import nats

    connection = await nats.connect(bus_url)
    try:
        stream = connection.jetstream()
        await stream.publish(
            AlertRaised.bus_subject(),
            payload,
            headers={SCHEMA_HEADER: AlertRaised.subject, VERSION_HEADER: "1"},
        )
    finally:
        await connection.close()


def malformed_alert() -> bytes:
    """Valid JSON with an AlertRaised's header, but no place and a priority of 9."""
    return json.dumps(
        {
            "message_id": "broken-1",
            "emitted_at": "2026-11-22T06:00:00Z",
            "source": "analytics",
            "kind": "analytics.zone_intrusion",
            "priority": 9,
            "title": "broken",
            "at": "2026-11-22T06:00:00Z",
            "correlation_key": "broken",
        }
    ).encode()


def demo_platform(data_dir: Path, database_url: str | None = None) -> Platform:
    """A migrated platform seeded with the demo province (benchmarks and demos)."""
    from pydantic import SecretStr

    from safecity.core.settings import Settings
    from safecity.web import bootstrap
    from safecity.web.platform import build_platform

    settings = Settings(
        data_dir=data_dir,
        secret_key=SecretStr("bench-console-secret-key-0123456789-abcdefghij"),
        demo=True,
        tile_url=None,
        database_url=SecretStr(database_url) if database_url else None,
    )
    platform = build_platform(settings)
    bootstrap.upgrade_database(platform)
    bootstrap.seed_base(platform)
    bootstrap.seed_demo(platform)
    platform.ready = True
    return platform


async def sign_in_async(page: Any, base_url: str, username: str, password: str) -> None:
    """The sign-in form as a person fills it, with Playwright's async API."""
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_label("Purpose of this session").select_option("Control-room monitoring")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
