"""The analytics configuration API and page: versions, validation, audit, outbox, snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.contracts.analytics_config import AnalyticsConfigChanged
from safecity.core.settings import Settings
from safecity.db.outbox import OutboxMessage
from safecity.registry.detector_catalogue import DetectorCatalogue
from safecity.web.app import create_app
from safecity.web.platform import Platform, build_platform
from tests.factories import World, make_user, record_segment, token_for

FIRST = {"If-Match": '"0"'}  # the version of a camera never configured


def _headers(platform: Platform, username: str, roles: list[str]) -> dict[str, str]:
    make_user(platform, username, roles, districts=["peshawar"])
    return {"Authorization": f"Bearer {token_for(platform, username)}", "X-Purpose": "tests"}


BOW_TIE = [[0.1, 0.1], [0.9, 0.8], [0.9, 0.2], [0.2, 0.9]]


def _config(zone: str = "gate") -> dict[str, Any]:
    return {
        "enabled": True,
        "analysed_fps": 5,
        "zones": [{"name": zone, "points": [[0.1, 0.5], [0.9, 0.5], [0.9, 1], [0.1, 1]]}],
        "lines": [{"name": "stop", "start": [0, 0.6], "end": [1, 0.6]}],
        "rules": [
            {"kind": "zone_intrusion", "name": "entry", "zone": zone, "classes": ["motion"]},
            {"kind": "loitering", "name": "dwell", "zone": zone, "seconds": 30},
            {"kind": "line_crossing", "name": "count", "line": "stop"},
            {"kind": "wrong_way", "name": "against", "line": "stop", "zone": zone},
        ],
    }


def _published(platform: Platform) -> list[AnalyticsConfigChanged]:
    with platform.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.subject == AnalyticsConfigChanged.subject)
            .order_by(OutboxMessage.id)
        ).all()
        return [AnalyticsConfigChanged.model_validate(row.payload) for row in rows]


def test_configuration_versions_audit_and_outbox(
    api: TestClient, platform: Platform, world: World
) -> None:
    engineer = _headers(platform, "eng", ["engineer"])
    camera = world.cameras["PSH-TC1"]
    url = f"/api/v1/cameras/{camera}/analytics"

    fresh = api.get(url, headers=engineer)
    assert fresh.status_code == 200
    assert fresh.json()["version"] == 0
    assert fresh.json()["config"]["enabled"] is False

    first = api.put(url, json=_config(), headers={**engineer, "If-Match": '"0"'})
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1
    assert first.headers["etag"] == '"1"'
    assert first.json()["updated_by"] == "eng"

    # The same configuration again changes nothing: no new version, audit or message.
    again = api.put(url, json=_config(), headers={**engineer, "If-Match": '"1"'})
    assert again.json()["version"] == 1

    stale = api.put(url, json=_config("yard"), headers={**engineer, "If-Match": '"0"'})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"

    # A change that names no version could undo someone else's: refused with 428.
    blind = api.put(url, json=_config("yard"), headers=engineer)
    assert blind.status_code == 428, blind.text
    assert blind.json()["error"]["field"] == "If-Match"
    assert api.get(url, headers=engineer).json()["version"] == 1

    second = api.put(url, json=_config("yard"), headers={**engineer, "If-Match": '"1"'})
    assert second.json()["version"] == 2
    assert api.get(url, headers=engineer).json()["config"]["zones"][0]["name"] == "yard"

    messages = _published(platform)
    assert [(m.camera_id, m.version) for m in messages] == [("PSH-TC1", 1), ("PSH-TC1", 2)]
    assert messages[-1].config.zones[0].name == "yard"
    with platform.sessions() as session:
        audits = session.scalars(
            select(AuditRecord).where(AuditRecord.object_type == "camera_analytics")
        ).all()
    assert [(a.action, a.actor_name) for a in audits] == [("update", "eng"), ("update", "eng")]
    assert audits[0].before is None
    assert audits[1].before is not None
    assert audits[1].before["zones"][0]["name"] == "gate"
    assert audits[1].after is not None
    assert audits[1].after["zones"][0]["name"] == "yard"


def test_bad_configurations_are_refused_with_reasons_and_store_nothing(
    api: TestClient, platform: Platform, world: World
) -> None:
    engineer = _headers(platform, "eng2", ["engineer"])
    url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}/analytics"
    dangling = _config()
    dangling["rules"].append({"kind": "loitering", "name": "x", "zone": "nowhere", "seconds": 5})
    cases: list[tuple[dict[str, Any], str]] = [
        (dangling, "nowhere"),
        ({**_config(), "analysed_fps": 0}, "analysed_fps"),
        ({**_config(), "zones": [{"name": "a", "points": [[0, 0], [2, 0], [0, 1]]}]}, "zones"),
        ({**_config(), "colour": "red"}, "colour"),
        (
            {**_config(), "zones": [{"name": "gate", "points": BOW_TIE}]},
            "must not cross or touch itself",
        ),
        (
            {**_config(), "lines": [{"name": "stop", "start": [0.5, 0.5], "end": [0.5, 0.5]}]},
            "two different end points",
        ),
        ({**_config(), "rules": [{"kind": "teleport", "name": "x"}]}, "rules"),
        # Without a detector a still object fades into the motion background within a
        # second or two: rules about standing still could never fire.
        (
            {**_config(), "rules": [{"kind": "object_left", "name": "bag", "seconds": 30}]},
            "'bag' (object_left) needs a detector",
        ),
        (
            {
                **_config(),
                "rules": [
                    {"kind": "stopped_vehicle", "name": "no stopping", "zone": "gate", "seconds": 5}
                ],
            },
            "'no stopping' (stopped_vehicle) needs a detector",
        ),
    ]
    for body, reason in cases:
        response = api.put(url, json=body, headers={**engineer, "If-Match": '"0"'})
        assert response.status_code == 422, (reason, response.text)
        assert reason in response.text, (reason, response.text)
    assert api.get(url, headers=engineer).json()["version"] == 0
    assert _published(platform) == []


STREET_MANIFEST = """\
backend: onnx_yolo
file: street.onnx
sha256: {zeros}
input_width: 416
input_height: 416
layout: yolox
classes: [person, bicycle, car, backpack, handbag, suitcase]
licence: test
"""


@pytest.fixture
def models(platform: Platform, tmp_path: Path) -> Path:
    """The workers' models folder with one detector of people, cars and bags (only its
    manifest: the configuration service never opens a model file)."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "street.yaml").write_text(STREET_MANIFEST.format(zeros="a" * 64))
    platform.analytics_config.detectors = DetectorCatalogue(folder)
    return folder


def test_rules_about_standing_still_are_taken_with_a_detector(
    api: TestClient, platform: Platform, world: World, models: Path
) -> None:
    engineer = _headers(platform, "eng3", ["engineer"])
    url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}/analytics"
    body = {
        **_config(),
        "detector": "street",
        "rules": [
            {"kind": "object_left", "name": "bag", "seconds": 30},
            {"kind": "object_left", "name": "cases", "seconds": 30, "classes": ["suitcase"]},
            {"kind": "stopped_vehicle", "name": "no stopping", "zone": "gate", "seconds": 5},
        ],
    }
    response = api.put(url, json=body, headers={**engineer, "If-Match": '"0"'})
    assert response.status_code == 200, response.text
    kinds = [rule["kind"] for rule in api.get(url, headers=engineer).json()["config"]["rules"]]
    assert kinds == ["object_left", "object_left", "stopped_vehicle"]
    assert [m.config.detector for m in _published(platform)] == ["street"]


def test_a_motion_only_camera_refuses_rules_watching_detector_classes(
    api: TestClient, platform: Platform, world: World
) -> None:
    """Without a detector every object is a moving region: a rule watching cars would
    be stored and never fire."""
    engineer = _headers(platform, "eng8", ["engineer"])
    url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}/analytics"
    body = {**_config(), "detector": None}
    body["rules"] = [{"kind": "zone_intrusion", "name": "in", "zone": "gate", "classes": ["car"]}]
    refused = api.put(url, json=body, headers={**engineer, **FIRST})
    assert refused.status_code == 422
    assert "without a detector the camera's objects are all of class motion" in refused.text
    body["rules"] = [
        {"kind": "zone_intrusion", "name": "in", "zone": "gate", "classes": ["motion"]}
    ]
    assert api.put(url, json=body, headers={**engineer, **FIRST}).status_code == 200


def test_configurations_the_detector_cannot_serve_are_refused(
    api: TestClient, platform: Platform, world: World, models: Path
) -> None:
    engineer = _headers(platform, "eng6", ["engineer"])
    url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}/analytics"
    (models / "broken.yaml").write_text("backend: onnx_yolo\n")
    left = {"kind": "object_left", "name": "left", "seconds": 5}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**_config(), "detector": "nosuch-model"}, "detector 'nosuch-model' is not installed"),
        ({**_config(), "detector": "nosuch-model"}, "installed detectors: broken, street"),
        ({**_config(), "detector": "broken"}, "detector 'broken' cannot be used"),
        (
            {**_config(), "detector": "street", "rules": [{**left, "classes": ["persn"]}]},
            "rule 'left' names classes detector 'street' does not report: persn; it reports "
            "person, bicycle, car, backpack, handbag, suitcase",
        ),
        # A car waiting at a red light is not an object left behind, whatever the detector.
        ({**_config(), "rules": [{**left, "classes": ["suitcase", "car"]}]}, "names car"),
        (
            {**_config(), "detector": "street", "rules": [{**left, "classes": ["person"]}]},
            "a person or vehicle standing still is not an object left behind",
        ),
    ]
    for body, reason in cases:
        response = api.put(url, json=body, headers={**engineer, **FIRST})
        assert response.status_code == 422, (reason, response.text)
        assert reason in response.text, (reason, response.text)
    assert str(models) not in response.text
    assert api.get(url, headers=engineer).json()["version"] == 0
    assert _published(platform) == []
    # Classes of the detector, and motion regions, are taken.
    fine = {**_config(), "detector": "street"}
    fine["rules"] = [*fine["rules"], {**left, "name": "x", "classes": ["motion", "backpack"]}]
    assert api.put(url, json=fine, headers={**engineer, **FIRST}).status_code == 200


def test_a_deployment_without_a_models_folder_refuses_a_named_detector(
    api: TestClient, platform: Platform, world: World
) -> None:
    """Under `safecity up` with no models folder the workers can load no detector: a
    configuration naming one would run motion only, its detector rules never firing."""
    engineer = _headers(platform, "eng9", ["engineer"])
    url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}/analytics"
    refused = api.put(
        url, json={**_config(), "detector": "sim-vehicles"}, headers={**engineer, **FIRST}
    )
    assert refused.status_code == 422
    assert "gives the analytics workers no models folder" in refused.text
    assert api.put(url, json=_config(), headers={**engineer, **FIRST}).status_code == 200


def test_the_bundled_detector_is_known_without_a_models_folder(
    settings: Settings, platform: Platform, world: World
) -> None:
    """The demo's workers find sim-vehicles in the package when no folder is set."""
    demo = build_platform(settings.model_copy(update={"demo": True}))
    demo.ready = True
    try:
        with TestClient(create_app(demo), base_url="http://127.0.0.1") as api:
            engineer = _headers(platform, "eng7", ["engineer"])
            url = f"/api/v1/cameras/{world.cameras['PSH-TC1']}/analytics"
            body = {**_config(), "detector": "sim-vehicles"}
            body["rules"] = [*body["rules"], {"kind": "crowd", "name": "queue", "threshold": 4}]
            body["rules"][0] = {**body["rules"][0], "classes": ["car", "bus"]}
            assert api.put(url, json=body, headers={**engineer, **FIRST}).status_code == 200
            second = {**engineer, "If-Match": '"1"'}
            body["rules"][0] = {**body["rules"][0], "classes": ["person"]}
            refused = api.put(url, json=body, headers=second)
            assert refused.status_code == 422
            assert "car, van, bus, truck, rickshaw, motorcycle" in refused.text
            # It finds vehicles only: nothing that could be left behind.
            body["rules"] = [{"kind": "object_left", "name": "left", "seconds": 5}]
            refused = api.put(url, json=body, headers=second)
            assert refused.status_code == 422
            assert "detector 'sim-vehicles' finds none of them" in refused.text
    finally:
        demo.dispose()


def test_a_configuration_stored_before_the_checks_loads_and_can_be_switched_off(
    api: TestClient, platform: Platform, world: World
) -> None:
    """A bow-tie zone and an object_left rule on cars were taken before this stop's checks:
    the camera's configuration still reads, its workers still get it, and an engineer can
    switch it off as it is; a stale version is told as stale, not as invalid."""
    from safecity.registry.analytics_models import CameraAnalytics

    camera = world.cameras["PSH-TC1"]
    old = {
        **_config(),
        "zones": [{"name": "gate", "points": BOW_TIE}],
        "rules": [{"kind": "object_left", "name": "left", "seconds": 5, "classes": ["car"]}],
    }
    with platform.transaction() as session:
        session.add(CameraAnalytics(camera_id=camera, config=old))
    engineer = _headers(platform, "eng10", ["engineer"])
    url = f"/api/v1/cameras/{camera}/analytics"
    read = api.get(url, headers=engineer)
    assert read.status_code == 200, read.text
    assert read.json()["config"]["zones"][0]["points"] == BOW_TIE
    with platform.sessions() as session:
        assert [c.camera_id for c in platform.analytics_config.worker_configs(session)] == [
            "PSH-TC1"
        ]
    stale = api.put(url, json=old, headers={**engineer, "If-Match": '"7"'})
    assert stale.status_code == 412
    kept = api.put(url, json=old, headers={**engineer, "If-Match": '"1"'})
    assert kept.status_code == 422, "running it as it is stays refused"
    off = api.put(url, json={**old, "enabled": False}, headers={**engineer, "If-Match": '"1"'})
    assert off.status_code == 200, off.text
    assert off.json()["config"]["enabled"] is False


def test_scope_and_permissions(api: TestClient, platform: Platform, world: World) -> None:
    operator = _headers(platform, "oper", ["operator"])
    engineer = _headers(platform, "eng3", ["engineer"])
    inside = f"/api/v1/cameras/{world.cameras['PSH-TC1']}/analytics"
    outside = f"/api/v1/cameras/{world.cameras['BNU-TC1']}/analytics"
    assert api.get(inside, headers=operator).status_code == 200
    assert api.put(inside, json=_config(), headers={**operator, **FIRST}).status_code == 403
    assert api.get(outside, headers=engineer).status_code == 404
    assert api.put(outside, json=_config(), headers={**engineer, **FIRST}).status_code == 404
    assert _published(platform) == []


def test_snapshot_is_a_jpeg_of_the_latest_recording_and_is_audited(
    api: TestClient, platform: Platform, world: World
) -> None:
    engineer = _headers(platform, "eng4", ["engineer"])
    camera = world.cameras["PSH-TC1"]
    assert api.get(f"/api/v1/cameras/{camera}/snapshot", headers=engineer).status_code == 404
    record_segment(platform, "PSH-TC1")
    response = api.get(f"/api/v1/cameras/{camera}/snapshot", headers=engineer)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content[:3] == b"\xff\xd8\xff"
    with platform.sessions() as session:
        viewed = session.scalars(
            select(AuditRecord).where(
                AuditRecord.object_type == "recording", AuditRecord.action == "view"
            )
        ).all()
    assert [record.actor_name for record in viewed] == ["eng4"]
    # The auditor reads what was seen: a still for the zone editor, not a playback.
    assert viewed[0].summary.startswith("viewed a still for the zone editor of PSH-TC1")


def test_editor_page_loads_its_script_and_shows_the_configuration(
    api: TestClient, platform: Platform, world: World
) -> None:
    engineer = _headers(platform, "eng5", ["engineer"])
    camera = world.cameras["PSH-TC1"]
    saved = api.put(
        f"/api/v1/cameras/{camera}/analytics",
        json=_config("forecourt"),
        headers={**engineer, **FIRST},
    )
    assert saved.status_code == 200, saved.text
    page = api.get(f"/cameras/{camera}/analytics", headers=engineer)
    assert page.status_code == 200
    assert '<script src="/static/js/analytics-editor.js" defer></script>' in page.text
    assert "forecourt" in page.text
    assert 'data-editable="yes"' in page.text
    # The site's navigation and the account link, as on every signed-in page.
    assert "<nav>" in page.text
    assert 'href="/account"' in page.text
    assert "<script>" not in page.text
    script = api.get("/static/js/analytics-editor.js")
    assert script.status_code == 200
    assert "If-Match" in script.text
    viewer = _headers(platform, "oper2", ["operator"])
    read_only = api.get(f"/cameras/{camera}/analytics", headers=viewer)
    assert 'data-editable="no"' in read_only.text
    assert 'id="save"' not in read_only.text


def test_api_enabled_camera_is_announced_without_credentials_and_its_stream_resolved(
    api: TestClient, platform: Platform, world: World
) -> None:
    from safecity.identity.system import system_principal
    from safecity.registry.schemas import CameraUpdate
    from safecity.video_workers import registry_stream_url

    stream = "rtsp://viewer:pw-9Xq2@10.0.0.7:554/stream1"
    camera = world.cameras["PSH-TC1"]
    with platform.transaction() as session:
        platform.registry.update_camera(
            session,
            system_principal("tests"),
            camera,
            CameraUpdate(main_stream_url=stream),
            expected_version=None,
        )
    engineer = _headers(platform, "eng", ["engineer"])
    saved = api.put(
        f"/api/v1/cameras/{camera}/analytics",
        json=_config(),
        headers={**engineer, "If-Match": '"0"'},
    )
    assert saved.status_code == 200, saved.text
    # What the supervisor receives on the general subject: the configuration, no URL.
    announced = _published(platform)
    assert [(m.camera_id, m.config.enabled) for m in announced] == [("PSH-TC1", True)]
    assert "pw-9Xq2" not in announced[0].model_dump_json()
    # What the demo's supervisor hands the worker over its pipe: the stream, decrypted.
    resolve = registry_stream_url(platform)
    assert resolve("PSH-TC1") == stream
    assert resolve("NO-SUCH-CAMERA") is None
