"""Running the web server (uvicorn) with TLS when configured."""

from __future__ import annotations

import uvicorn

from safecity.web.app import create_app
from safecity.web.mqtt_bridge import MqttEndpoint
from safecity.web.platform import Platform


def build_server(
    platform: Platform, *, bus_url: str | None, mqtt: MqttEndpoint | None = None
) -> uvicorn.Server:
    settings = platform.settings
    app = create_app(platform, bus_url=bus_url, mqtt=mqtt, freeze_heap=True)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        ssl_certfile=str(settings.tls_certfile) if settings.tls_certfile else None,
        ssl_keyfile=str(settings.tls_keyfile) if settings.tls_keyfile else None,
        proxy_headers=False,
        server_header=False,
        access_log=False,
        lifespan="on",
        ws="websockets-sansio",
        # Compressing each console's frames separately cost more than everything else in
        # the alert fan-out (200 consoles: p95 2 s with it, 60 ms without; BENCHMARKS.md).
        ws_per_message_deflate=False,
    )
    return uvicorn.Server(config)
