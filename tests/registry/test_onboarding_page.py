"""An engineer probes a camera from the new-camera form and saves it from the answer."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.registry.models import Camera
from safecity.web.platform import Platform
from tests.factories import PASSWORD, World, make_user
from tests.support.onvif_responder import OnvifResponder, ResponderConfig


def _sign_in(client: TestClient, username: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    signed = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return token.group(1)


def test_probe_fills_the_form_and_checks_the_standards(
    client: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "eng-onboard", ["engineer"], districts=["peshawar"])
    csrf = _sign_in(client, "eng-onboard")
    config = ResponderConfig(clock_offset_seconds=40)
    with OnvifResponder(config) as camera:
        page = client.post(
            "/cameras/new/probe",
            data={
                "host": camera.host,
                "port": str(camera.port),
                "username": config.username,
                "password": config.password,
                "csrf_token": csrf,
            },
        )
    assert page.status_code == 200, page.text
    assert "Hikvision DS-2CD2043G2-I" in page.text
    drift = re.search(r"([+-]\d+\.\d) s against ours", page.text)
    assert drift, "the clock drift is shown"
    # Measured over a loaded machine: the half round trip is the probe's own uncertainty.
    assert 35 < float(drift.group(1)) < 45
    assert "Clock" in page.text
    compliance = re.findall(r'<span class="status (online|offline)">(pass|fail)</span>', page.text)
    assert ("offline", "fail") in compliance, "a camera 40 s off fails the clock check"
    fields = dict(re.findall(r'<input name="(\w+)"[^>]*value="([^"]*)"', page.text))
    assert fields["make"] == "Hikvision"
    assert fields["main_stream_url"].startswith("rtsp://admin:")
    # Save it from the filled form, as the engineer would.
    form = {
        k: v
        for k, v in fields.items()
        if k
        in {
            "name",
            "make",
            "model",
            "vendor",
            "resolution",
            "fps",
            "main_stream_url",
            "sub_stream_url",
        }
    }
    form.update(
        {
            "code": "PSH-ONV1",
            "site": "PSH-T1",
            "name": "Probed camera",
            "csrf_token": csrf,
            "status": "installed",
            "ownership": "public",
            "codec": "h264",
        }
    )
    saved = client.post("/cameras/new", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with platform.sessions() as session:
        stored = session.scalars(select(Camera).where(Camera.code == "PSH-ONV1")).one()
        probes = session.scalars(select(AuditRecord).where(AuditRecord.action == "probe")).all()
    assert stored.make == "Hikvision"
    assert config.password not in stored.main_stream_display
    assert platform.cipher.decrypt(stored.main_stream_enc or "").startswith("rtsp://admin:")
    assert [p.actor_name for p in probes] == ["eng-onboard"]
    assert config.password not in probes[0].summary


def test_wrong_password_is_said_plainly(
    client: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "eng-wrong", ["engineer"], districts=["peshawar"])
    csrf = _sign_in(client, "eng-wrong")
    with OnvifResponder() as camera:
        page = client.post(
            "/cameras/new/probe",
            data={
                "host": camera.host,
                "port": str(camera.port),
                "username": "admin",
                "password": "not-the-password",
                "csrf_token": csrf,
            },
        )
    assert page.status_code == 422
    assert 'id="probe-error"' in page.text
    assert "not-the-password" not in page.text
