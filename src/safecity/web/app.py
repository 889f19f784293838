"""The one application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool

from safecity import __version__
from safecity.audit.context import SYSTEM
from safecity.bus.interface import Subscription
from safecity.web import console_socket, errors, live, pages, relay
from safecity.web.api import alerts as alerts_api
from safecity.web.api import analytics as analytics_api
from safecity.web.api import audit as audit_api
from safecity.web.api import events as events_api
from safecity.web.api import hotlists as hotlists_api
from safecity.web.api import identity as identity_api
from safecity.web.api import incidents as incidents_api
from safecity.web.api import kpis as kpis_api
from safecity.web.api import plates as plates_api
from safecity.web.api import power as power_api
from safecity.web.api import recordings as recordings_api
from safecity.web.api import registry as registry_api
from safecity.web.api import system as system_api
from safecity.web.api import units as units_api
from safecity.web.bus_metrics import AnalyticsWorkerGauges, ConsumerGauges
from safecity.web.consumers import Consumers, start_consumers
from safecity.web.deps import check_csrf
from safecity.web.hub import ConsoleHub
from safecity.web.metrics import HttpMetrics, MetricsMiddleware
from safecity.web.mqtt_bridge import MqttBridge, MqttEndpoint
from safecity.web.platform import Platform
from safecity.web.security import (
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    content_security_policy,
)
from safecity.web.templating import configure_templates
from safecity.web.workers import WorkerGroupMetrics

WEB_DIR = Path(__file__).parent
SWEEP_SECONDS = 60
log = logging.getLogger(__name__)


RETENTION_EVERY = 10  # sweeps
RESCAN_EVERY = 5  # sweeps


def _maintain(platform: Platform, rounds: int) -> None:
    with platform.transaction() as session:
        platform.power.sweep_silent(session)
    if rounds % RESCAN_EVERY == 0:
        # Segment files whose SegmentClosed was lost, before retention counts the store.
        with platform.transaction() as session:
            platform.recordings.rescan(session, SYSTEM)
    if rounds % RETENTION_EVERY:
        return
    with platform.transaction() as session:
        _, files = platform.recordings.sweep(session, platform.retention, SYSTEM)
    for path in files:  # only once the index no longer points at them
        path.unlink(missing_ok=True)
    more = True
    while more:  # in batches, each its own transaction, files unlinked after its commit
        with platform.transaction() as session:
            swept = platform.events.sweep(session, SYSTEM)
        for path in swept.files:  # plate crops and snapshots of deleted reads and events
            path.unlink(missing_ok=True)
        more = swept.more


async def _maintenance(platform: Platform) -> None:
    """Every minute: sites fallen silent; every five: unindexed segment files; every ten:
    recording retention."""
    rounds = 0
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        rounds += 1
        try:
            await run_in_threadpool(_maintain, platform, rounds)
        except Exception:
            log.exception("maintenance sweep failed; retrying next minute")


_csrf = Depends(check_csrf)


@contextlib.contextmanager
def _start_up_heap_frozen() -> Iterator[None]:
    """Leave what start-up built out of the collector's full passes while the app runs.

    A full (oldest-generation) collection walks every tracked object; with the modules,
    models and services loaded that took 150-280 ms, holding the GIL, and stalled the
    alert path by as much now and then (BENCHMARKS.md, alert latency, 2026-12-06). Those
    objects live as long as the process, so walking them again finds nothing. Undone at
    shut-down, so that an application built and stopped in a longer-lived process (the
    tests) leaves nothing uncollectable behind."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _register_collectors(
    registry: CollectorRegistry,
    platform: Platform,
    worker_gauges: AnalyticsWorkerGauges,
    subscriptions: Callable[[], list[Subscription]],
) -> None:
    """What ``/metrics`` reads at scrape time besides the HTTP metrics: the analytics
    workers' reports, the worker groups' restarts, the bus consumers' counts."""
    registry.register(worker_gauges)
    registry.register(WorkerGroupMetrics(platform.workers))
    registry.register(ConsumerGauges(subscriptions, platform.alerts.refused))


def create_app(
    platform: Platform,
    *,
    bus_url: str | None = None,
    mqtt: MqttEndpoint | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """Build the control-plane application around an already-built platform.

    ``bus_url``: when given, the outbox relay publishes committed changes to NATS
    for as long as the application runs. ``mqtt``: when given, site telemetry from
    that broker is stored; silent sites are swept either way. ``freeze_heap``: keep
    what start-up built out of the collector's full passes while the app runs (the
    server does; an app built per test need not pay the start-up collection).
    """
    settings = platform.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        relay_task = await relay.start(platform, bus_url) if bus_url else None
        bridge = MqttBridge(platform, mqtt) if mqtt else None
        app.state.mqtt_bridge = bridge
        if bridge is not None:
            bridge.start()
        consumers = (
            await start_consumers(
                platform,
                relay_task.bus,
                hub,
                alerts_url=bus_url,
                wake=relay_task.wake,
                worker_gauges=worker_gauges,
            )
            if relay_task is not None
            else None
        )
        app.state.consumers = consumers
        sweeper = asyncio.create_task(_maintenance(platform), name="maintenance")
        try:
            with _start_up_heap_frozen() if freeze_heap else contextlib.nullcontext():
                yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if bridge is not None:
                bridge.stop()
            if consumers is not None:
                await consumers.stop()
            if relay_task is not None:
                await relay_task.stop()

    app = FastAPI(
        title="safecity",
        version=__version__,
        summary="Open Safe City platform: camera registry, identity and audit API",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.state.platform = platform
    hub = ConsoleHub()
    app.state.hub = hub
    app.state.templates = configure_templates(
        Jinja2Templates(directory=WEB_DIR / "templates"), settings
    )
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    app.state.consumers = None
    worker_gauges = AnalyticsWorkerGauges()

    def running_subscriptions() -> list[Subscription]:
        consumers: Consumers | None = app.state.consumers
        return [] if consumers is None else list(consumers.subscriptions)

    _register_collectors(registry, platform, worker_gauges, running_subscriptions)
    errors.install(app)

    for router in (system_api.router,):
        app.include_router(router, prefix="/api/v1")
    for router in (
        registry_api.router,
        power_api.router,
        recordings_api.router,
        identity_api.router,
        audit_api.router,
        plates_api.router,
        events_api.router,
        hotlists_api.router,
        analytics_api.router,
        alerts_api.router,
        incidents_api.router,
        units_api.router,
        kpis_api.router,
    ):
        app.include_router(router, prefix="/api/v1", dependencies=[_csrf])
    app.include_router(pages.router, dependencies=[_csrf])
    # GET pages and a WebSocket with its own same-origin check: CSRF does not apply.
    app.include_router(live.router)
    app.include_router(console_socket.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry))
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(
        SecurityHeadersMiddleware,
        csp=content_security_policy(settings.tile_url),
        https=bool(settings.tls_certfile),
    )
    return app
