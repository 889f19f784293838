"""The deployment file creates what it names and is idempotent: a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from safecity.core.errors import ConfigError
from safecity.core.yamlfile import load_yaml_model
from safecity.identity.system import system_principal
from safecity.registry.deployment import DeploymentFile, apply_deployment
from safecity.registry.models import Camera, District, Site
from safecity.web.platform import Platform
from tests.registry.helpers import counts, stored_url

DEPLOYMENT = """\
name: kp-phase-1
districts:
  - slug: khyber
    name: Khyber
    latitude: 34.0833
    longitude: 71.1
sites:
  - code: KHY-S001
    name: Bab-e-Khyber
    district: khyber
    site_type: entry_exit_point
    latitude: 34.0321
    longitude: 71.4203
    power_source: solar
  - code: TNK-S001
    name: Tank Adda
    district: tank
    site_type: bus_terminal
    latitude: 32.2172
    longitude: 70.3833
cameras:
  - code: KHY-C0001
    site: KHY-S001
    name: Bab-e-Khyber inbound
    main_stream_url: rtsp://admin:khyber-pw@10.40.0.11:554/Streaming/Channels/101
    sub_stream_url: rtsp://admin:khyber-pw@10.40.0.11:554/Streaming/Channels/102
    resolution: 1920x1080
    fps: 15
    ptz: yes
    status: online
    privacy_masks:
      - points: [[0.7, 0.0], [1.0, 0.0], [1.0, 0.3]]
        label: houses
  - code: TNK-C0001
    site: TNK-S001
    name: Tank Adda platform
    ownership: private
    owner: Tank Transport Union
analytics:
  target_fps: 4
  motion_gate:
    min_area_fraction: 0.01
"""


def _load(tmp_path: Path, text: str = DEPLOYMENT) -> DeploymentFile:
    path = tmp_path / "deployment.yaml"
    path.write_text(text)
    return load_yaml_model(path, DeploymentFile)


def _apply(platform: Platform, spec: DeploymentFile) -> dict[str, int]:
    with platform.transaction() as session:
        return apply_deployment(session, platform.registry, system_principal("up"), spec)


def test_deployment_creates_districts_sites_and_cameras(platform: Platform, tmp_path: Path) -> None:
    spec = _load(tmp_path)
    assert spec.analytics.target_fps == 4
    assert spec.analytics.motion_gate.enabled is True
    assert _apply(platform, spec) == {
        "districts": 1,
        "sites": 2,
        "cameras_created": 2,
        "cameras_updated": 0,
    }
    with platform.sessions() as session:
        khyber = session.scalars(select(District).where(District.slug == "khyber")).one()
        assert khyber.province == "Khyber Pakhtunkhwa"
        site = session.scalars(select(Site).where(Site.code == "KHY-S001")).one()
        assert (site.district.slug, site.power_source) == ("khyber", "solar")
        camera = session.scalars(select(Camera).where(Camera.code == "KHY-C0001")).one()
        assert (camera.district.slug, camera.ptz, camera.fps) == ("khyber", True, 15)
        assert camera.privacy_masks == [
            {"points": [[0.7, 0.0], [1.0, 0.0], [1.0, 0.3]], "label": "houses"}
        ]
        private = session.scalars(select(Camera).where(Camera.code == "TNK-C0001")).one()
        assert private.owner is not None
        assert private.owner.name == "Tank Transport Union"
    assert stored_url(platform, "KHY-C0001", "sub") == (
        "rtsp://admin:khyber-pw@10.40.0.11:554/Streaming/Channels/102"
    )


def test_second_run_changes_nothing(platform: Platform, tmp_path: Path) -> None:
    spec = _load(tmp_path)
    _apply(platform, spec)
    with platform.sessions() as session:
        versions = {c.code: c.version for c in session.scalars(select(Camera))}
    before = counts(platform)
    assert _apply(platform, _load(tmp_path)) == {
        "districts": 0,
        "sites": 0,
        "cameras_created": 0,
        "cameras_updated": 0,
    }
    assert counts(platform) == before
    with platform.sessions() as session:
        assert {c.code: c.version for c in session.scalars(select(Camera))} == versions


def test_changed_camera_is_updated_and_edited_site_kept(platform: Platform, tmp_path: Path) -> None:
    _apply(platform, _load(tmp_path))
    changed = DEPLOYMENT.replace("Bab-e-Khyber inbound", "Bab-e-Khyber inbound lane").replace(
        "name: Tank Adda\n", "name: Tank Adda (renamed in file)\n"
    )
    assert _apply(platform, _load(tmp_path, changed)) == {
        "districts": 0,
        "sites": 0,
        "cameras_created": 0,
        "cameras_updated": 1,
    }
    with platform.sessions() as session:
        names = dict(session.execute(select(Camera.code, Camera.name)).all())
        site = session.scalars(select(Site.name).where(Site.code == "TNK-S001")).one()
    assert names["KHY-C0001"] == "Bab-e-Khyber inbound lane"
    # Sites already present are left as the operators edited them.
    assert site == "Tank Adda"


def test_new_password_in_the_file_is_applied(platform: Platform, tmp_path: Path) -> None:
    _apply(platform, _load(tmp_path))
    rotated = DEPLOYMENT.replace("admin:khyber-pw@", "admin:new-pw-2026@")
    assert _apply(platform, _load(tmp_path, rotated))["cameras_updated"] == 1
    assert stored_url(platform, "KHY-C0001") == (
        "rtsp://admin:new-pw-2026@10.40.0.11:554/Streaming/Channels/101"
    )


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("  target_fps: 4\n", "  target_fps: 4\n  workers: 8\n", ":41: analytics.workers: Extra"),
        ("    fps: 15\n", "    fps: 500\n", ":28: cameras[0].fps: "),
        ("name: kp-phase-1\n", "name: kp phase 1\n", ":1: name: String should match"),
        ("    ownership: private\n", "    ownership: privat\n", ":37: cameras[1].ownership:"),
    ],
)
def test_bad_deployment_file_names_line_and_field(
    tmp_path: Path, old: str, new: str, where: str
) -> None:
    assert DEPLOYMENT.count(old) == 1
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, DEPLOYMENT.replace(old, new))
    assert caught.value.message.startswith(f"{tmp_path / 'deployment.yaml'}{where}")
