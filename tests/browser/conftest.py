"""Browser fixtures: the real application under uvicorn on loopback, seeded with the
demo province, and Debian's chromium driven by Playwright.

The server runs in a thread of the test process (no bus): the tests can then read
the same database to compute what the pages must show, instead of hard-coding it.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from pydantic import SecretStr

from safecity.core.settings import Settings
from safecity.web import bootstrap
from safecity.web.app import create_app
from safecity.web.platform import build_platform
from tests.browser.support import BrowserLog, LiveServer
from tests.factories import PASSWORD, make_user

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path("/usr/bin/chromium")
# Flags from ENVIRONMENT.md: root needs --no-sandbox, the machines have no GPU and a
# small /dev/shm, and nothing may phone home (updates, sync, QUIC probes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
SECRET = "browser-tests-secret-key-0123456789-abcdefghij"
OPERATOR = "bannu-operator"
# Shared machines are noisy: a page that is merely slow must not fail a test.
TIMEOUT_MS = 15_000

_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("browser-live")
    # tile_url is pinned to None so a SAFECITY_TILE_URL in the environment cannot
    # make the map fetch tiles from elsewhere during the no-external-request test.
    settings = Settings(data_dir=data_dir, secret_key=SecretStr(SECRET), demo=True, tile_url=None)
    platform = build_platform(settings)
    bootstrap.upgrade_database(platform)
    bootstrap.seed_base(platform)
    bootstrap.seed_demo(platform)
    admin_password = bootstrap.ensure_demo_admin(platform)
    make_user(platform, OPERATOR, ["operator"], districts=["bannu"])
    platform.ready = True

    # Binding the socket here (port 0) and handing it to uvicorn leaves no window in
    # which another process could take the port between choosing and binding it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(platform),
        ws="none",  # no websockets here; also avoids importing their deprecated legacy API
        lifespan="on",
        log_config=None,  # leave the test process's logging alone
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="browser-live-server", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the live server did not start (see the captured log)")
            time.sleep(0.02)
        yield LiveServer(
            base_url=f"http://127.0.0.1:{port}",
            platform=platform,
            admin_password=admin_password,
            operator=OPERATOR,
            operator_password=PASSWORD,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        platform.dispose()
        if thread.is_alive():
            pytest.fail("the live server did not stop within 15 s")


# Package scope, not session: while Playwright's sync API is alive its event loop
# counts as running on this thread, and every pytest-asyncio test run after the
# browser tests would fail with "Cannot run the event loop while another loop is running".
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    expect.set_options(timeout=TIMEOUT_MS)
    # Screenshots of an earlier run's failures would be mistaken for this run's.
    for stale in ARTIFACTS.glob("*.png"):
        stale.unlink()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """A fresh profile per test: no cookie or session leaks from one test to the next."""
    ctx = browser.new_context(
        base_url=live_server.base_url,
        accept_downloads=True,
        viewport={"width": 1280, "height": 720},
        service_workers="block",
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def browser_log(context: BrowserContext) -> BrowserLog:
    """Requests, console errors and uncaught errors of every page in the context."""
    return BrowserLog.attach(context)


@pytest.fixture
def page(
    context: BrowserContext, browser_log: BrowserLog, request: pytest.FixtureRequest
) -> Iterator[Page]:
    opened = context.new_page()
    yield opened
    # A picture of what the person would have seen is the quickest way into a failure.
    if request.node.stash.get(_CALL_FAILED, False) and not opened.is_closed():
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        opened.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    # Whatever a test checks, these are bugs on any page: a script that threw, a
    # policy violation, or a request that left the machine.
    assert browser_log.unexpected() == [], "the browser reported problems"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_CALL_FAILED] = True
    return report
