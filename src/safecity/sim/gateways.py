"""Simulated site gateways: publish solar sites' telemetry to the MQTT broker, as real
controllers would. They reach the platform only through MQTT."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from safecity.sim.solar import SolarSite, SolarSiteSpec, day_of_samples

log = logging.getLogger(__name__)


class GatewayFleet:
    """Backfills the last hours, then reports every ``every_seconds`` of wall time."""

    def __init__(
        self,
        specs: Sequence[SolarSiteSpec],
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        seed: int = 2026,
        every_seconds: float = 60.0,
        backfill_hours: float = 24.0,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        self._ready = ready
        self.sites = [SolarSite(spec, seed) for spec in specs]
        self.every_seconds = every_seconds
        self.backfill_hours = backfill_hours
        self.published = 0
        self._stop = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sim-gateways")
        self._client.username_pw_set(username, password)
        self._host, self._port = host, port
        self._thread = threading.Thread(target=self._run, name="sim-gateways", daemon=True)

    def start(self) -> None:
        self._client.connect(self._host, self._port, keepalive=30)
        self._client.loop_start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._client.loop_stop()
        self._client.disconnect()

    def _publish(self, code: str, payload: dict[str, object]) -> None:
        info = self._client.publish(f"safecity/sites/{code}/power", json.dumps(payload), qos=1)
        info.wait_for_publish(timeout=5)
        self.published += 1

    def _run(self) -> None:
        # Publishing before the platform subscribes would lose the samples (no session).
        while self._ready is not None and not self._ready():
            if self._stop.wait(0.5):
                return
        now = datetime.now(UTC)
        for site in self.sites:
            for sample in day_of_samples(
                site, end=now, hours=self.backfill_hours, every_minutes=10
            ):
                if self._stop.is_set():
                    return
                self._publish(site.spec.code, sample.as_payload())
        log.info("simulated gateways: backfilled %d samples", self.published)
        while not self._stop.wait(self.every_seconds):
            at = datetime.now(UTC)
            for site in self.sites:
                self._publish(site.spec.code, site.step(at, self.every_seconds / 60).as_payload())
