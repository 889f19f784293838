"""The server keeps its start-up heap out of the collector's full passes while it runs
(the cause of the alert path's occasional 150-280 ms stall) and gives it back when it
stops; an application built for a test leaves the collector alone."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from safecity.web.app import create_app
from safecity.web.platform import Platform


def test_the_server_freezes_its_start_up_heap_while_it_runs(platform: Platform) -> None:
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(platform, freeze_heap=True), base_url="http://127.0.0.1"):
        frozen = gc.get_freeze_count()
        # Everything start-up built: modules, models, routes; tens of thousands at least.
        assert frozen > 10_000
    assert gc.get_freeze_count() == 0, "unfrozen at shut-down, collectable again"


def test_an_app_built_for_a_test_leaves_the_collector_alone(platform: Platform) -> None:
    with TestClient(create_app(platform), base_url="http://127.0.0.1"):
        assert gc.get_freeze_count() == 0
