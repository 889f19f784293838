"""Site telemetry over MQTT: gateways publish JSON samples on
``safecity/sites/<site code>/power``; the bridge stores them through the same service
as the HTTP endpoint and answers a rejected sample on ``.../power/errors``."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from safecity.audit.context import AuditContext
from safecity.core.errors import SafecityError
from safecity.identity.permissions import Principal
from safecity.registry.power_schemas import PowerReadingIn
from safecity.web.platform import Platform

log = logging.getLogger(__name__)
TOPIC = "safecity/sites/+/power"


@dataclass(frozen=True)
class MqttEndpoint:
    host: str
    port: int
    username: str
    password: str


def bridge_principal() -> Principal:
    """The bridge may only report telemetry, for any site (the broker's ACL and the
    gateways' accounts decide who may publish)."""
    return Principal(
        user_id=0,
        username="mqtt-bridge",
        permissions=frozenset({"sites.telemetry"}),
        district_ids=None,
        camera_ids=frozenset(),
        audit=AuditContext(actor_id=None, actor_name="mqtt-bridge", purpose="site telemetry"),
    )


class MqttBridge:
    def __init__(self, platform: Platform, endpoint: MqttEndpoint) -> None:
        self.platform = platform
        self.endpoint = endpoint
        self.principal = bridge_principal()
        self.stored = 0
        self.rejected = 0
        # Set once the broker confirmed the subscription: publishers may start then.
        self.subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="safecity-bridge", clean_session=True
        )
        self._client.username_pw_set(endpoint.username, endpoint.password)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: self.subscribed.set()
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)

    def start(self) -> None:
        self._client.connect_async(self.endpoint.host, self.endpoint.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT bridge could not connect: %s", reason)
            return
        client.subscribe(TOPIC, qos=1)
        log.info("MQTT bridge subscribed to %s", TOPIC)

    def _on_message(
        self, client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        parts = message.topic.split("/")
        site_code = parts[2] if len(parts) == 4 else ""
        try:
            reading = PowerReadingIn.model_validate_json(message.payload)
            with self.platform.transaction() as session:
                self.platform.power.record(
                    session, self.principal, site_code, reading, source="mqtt"
                )
        except ValidationError as exc:
            self._reject(
                client,
                message.topic,
                "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                ),
            )
        except SafecityError as exc:
            self._reject(client, message.topic, exc.message)
        else:
            self.stored += 1

    def _reject(self, client: mqtt.Client, topic: str, reason: str) -> None:
        self.rejected += 1
        log.warning("telemetry on %s rejected: %s", topic, reason)
        client.publish(f"{topic}/errors", json.dumps({"error": reason}), qos=1)
