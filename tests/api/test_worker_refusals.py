"""A video worker group that refused its configuration is shown to whoever looks after the
cameras province-wide (API and health page), with its scrubbed reason, since when and its
cameras; to nobody else, and never through the public health probe."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.core.clock import utcnow
from safecity.core.settings import Settings
from safecity.identity.models import Role
from safecity.identity.system import system_principal
from safecity.ingest.supervisor import CONFIG_REFUSED
from safecity.video_workers import start_analytics
from safecity.web.platform import Platform
from tests.factories import World, make_user, token_for

DEAD_BUS = "nats://127.0.0.1:9"


def _auth(platform: Platform, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(platform, username)}"}


@pytest.fixture
def refusing(settings: Settings, platform: Platform, world: World) -> Iterator[str]:
    """PSH-TC1's analytics group, started as ``safecity up`` starts it, with a plate-rules
    file that is gone: its real worker process refuses (exit 2). Yields the group's name."""
    with platform.transaction() as session:
        platform.analytics_config.update_config(
            session,
            system_principal("tests"),
            world.cameras["PSH-TC1"],
            CameraAnalyticsConfig.model_validate({"enabled": True}),
            expected_version=None,
        )
    broken = settings.model_copy(
        update={"analytics_plate_rules_file": settings.data_dir / "gone.yaml"}
    )
    with ExitStack() as stack:
        groups = start_analytics(stack, broken, platform, DEAD_BUS)
        group = groups.group_of("PSH-TC1")
        assert group is not None
        deadline = time.monotonic() + 120
        while groups.exit_codes(group) != [CONFIG_REFUSED]:
            assert time.monotonic() < deadline, "the worker did not refuse in time"
            time.sleep(0.1)
        yield group


def test_a_refused_group_is_shown_with_its_reason_to_a_province_wide_engineer(
    api: TestClient, platform: Platform, refusing: str
) -> None:
    make_user(platform, "eng-all", ["engineer"], all_districts=True)
    response = api.get("/api/v1/workers", headers=_auth(platform, "eng-all"))
    assert response.status_code == 200, response.text
    (group,) = response.json()["refused"]
    assert group["name"] == refusing
    assert group["kind"] == "analytics"
    assert group["cameras"] == ["PSH-TC1"]
    assert "plate format rules: " in group["reason"]
    assert "gone.yaml: cannot read" in group["reason"]
    assert utcnow() - timedelta(minutes=5) < datetime.fromisoformat(group["since"]) <= utcnow()
    assert "s3cret" not in response.text  # the camera's stream password never comes out

    page = api.get("/health", headers=_auth(platform, "eng-all"))
    assert page.status_code == 200
    assert 'id="refused-workers"' in page.text
    assert refusing in page.text
    assert "gone.yaml: cannot read" in page.text
    assert "s3cret" not in page.text


def test_a_refused_group_is_hidden_from_who_may_not_see_it(
    api: TestClient, platform: Platform, refusing: str
) -> None:
    make_user(platform, "eng-psh", ["engineer"], districts=["peshawar"])
    make_user(platform, "op-all", ["operator"], all_districts=True)
    with platform.transaction() as session:  # changes cameras, but was not given the view
        editor = ["districts.view", "sites.view", "cameras.view", "cameras.change"]
        session.add(Role(slug="camera-editor", name="Camera editor", permissions=editor))
    make_user(platform, "editor-all", ["camera-editor"], all_districts=True)
    assert api.get("/api/v1/workers").status_code == 401
    # Scoped to one district; no workers.view; cameras.change without workers.view.
    for username in ("eng-psh", "op-all", "editor-all"):
        refused = api.get("/api/v1/workers", headers=_auth(platform, username))
        assert refused.status_code == 403, (username, refused.text)
        assert refusing not in refused.text
        page = api.get("/health", headers=_auth(platform, username))
        assert page.status_code == 200
        assert 'id="refused-workers"' not in page.text
        assert refusing not in page.text
    probe = api.get("/api/v1/health")
    assert probe.status_code == 200
    assert refusing not in probe.text
    assert "gone.yaml" not in probe.text
