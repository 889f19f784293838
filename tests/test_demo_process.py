"""`safecity demo` as a user runs it: serves once seeded, prints the admin password,
runs a private NATS server on a free port, reads its simulated vehicles' plates and
alerts on the ones it hotlisted, and stops every child on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safecity.demo.hotlist import DEMO_AGENCY
from safecity.events.plates import normalise
from safecity.sim.truth import GroundTruth, load_ground_truth
from tests.support.postgres import free_port
from tests.support.processes import (
    SAFECITY,
    alive,
    descendants,
    killed_on_failure,
    start_safecity,
)


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _fetch(port: int, token: str, path: str) -> tuple[str, bytes]:
    """An API answer's content type and body, with the admin's token."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return response.headers.get_content_type(), response.read()


def _api_json(port: int, token: str, path: str) -> dict[str, object]:
    body: dict[str, object] = json.loads(_fetch(port, token, path)[1])
    return body


def _items(port: int, token: str, path: str) -> list[dict[str, object]]:
    """The items of a paginated API answer."""
    items = _api_json(port, token, path)["items"]
    assert isinstance(items, list)
    return items


def _camera_plates(truth: GroundTruth) -> set[str]:
    """Plates seen by the demo's first camera: cameras are matched to a set's clips in
    order of code and file name, so PSH-C0001 shows the first clip."""
    first = min(truth.cameras, key=lambda camera: camera.file)
    return {
        vehicle.plate
        for vehicle in truth.vehicles
        if any(appearance.camera_id == first.id for appearance in vehicle.appearances)
    }


def _assert_hotlisted_vehicle_is_read_and_alerted(port: int, token: str, sim: Path) -> None:
    """The camera's analytics read its vehicles' plates; a vehicle the demo listed raises
    a hotlist alert from a real read, with the plate crop an operator compares.

    The clip's listed vehicles pass 45-115 s into its 120 s loop (seed 7, one anpr
    camera), so a first alert comes about a minute after the stream starts; the deadline
    leaves a second pass for a loaded machine."""
    (truth_path,) = sim.glob("seed7-anpr-*/ground_truth.json")
    plates = _camera_plates(load_ground_truth(truth_path))
    entries = _items(port, token, "/api/v1/hotlists/entries?limit=1000")
    listed = {str(e["plate"]) for e in entries if e["source_agency"] == DEMO_AGENCY}
    assert listed, "the demo lists some of its simulated vehicles"
    assert listed <= plates, "the demo lists vehicles its camera shows"
    reads_path = "/api/v1/plates?" + urllib.parse.urlencode(
        {"camera": "PSH-C0001", "limit": 1000, "purpose": "demo end-to-end test"}
    )
    deadline = time.monotonic() + 240
    reads: list[dict[str, object]] = []
    hits: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        reads = _items(port, token, reads_path)
        hits = [
            alert
            for alert in _items(port, token, "/api/v1/alerts?limit=1000")
            # The alert drill raises hotlist alerts too, without a read behind them.
            if alert["source"] == "hotlist"
            and alert["plate_text"] in listed
            and isinstance(alert["reference"], dict)
            and "plate_read" in alert["reference"]
        ]
        if hits and any(read["text"] in plates for read in reads):
            break
        time.sleep(2)
    texts = [str(read["text"]) for read in reads]
    assert texts, "no plate read of the simulated camera"
    assert all(text and text == normalise(text) for text in texts), texts
    assert set(texts) & plates, f"no read is a vehicle of the clip: {texts}"
    assert hits, f"no hotlist alert for the listed {sorted(listed)}; reads: {texts}"
    alert = hits[0]
    assert alert["kind"] in {"hotlist.stolen", "hotlist.wanted", "hotlist.expired_registration"}
    assert alert["camera_code"] == "PSH-C0001"
    assert alert["has_plate_crop"], alert
    content_type, crop = _fetch(port, token, f"/api/v1/alerts/{alert['id']}/snapshot?which=plate")
    assert content_type == "image/jpeg"
    assert crop.startswith(b"\xff\xd8"), "the plate crop is a JPEG"


def _assert_simulated_camera_is_recorded(port: int, token: str) -> None:
    """A simulated camera streams over RTSP, its ingest worker records 10 s segments, and
    the control plane indexes them from the bus."""

    def get(path: str) -> dict[str, object]:
        return _api_json(port, token, path)

    # The clip renders first (about 25 s on a quiet machine), then the camera's stream
    # address is pointed at the simulator's RTSP server and 10 s segments follow.
    deadline = time.monotonic() + 180
    cameras: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        listed_cameras = get("/api/v1/cameras?q=PSH-C0001")["items"]
        assert isinstance(listed_cameras, list)
        cameras = listed_cameras
        if cameras[0]["main_stream"].startswith("rtsp://***@127.0.0.1:"):
            break
        time.sleep(1)
    assert cameras[0]["main_stream"].startswith("rtsp://***@127.0.0.1:")
    now = datetime.now(UTC)
    window = urllib.parse.urlencode(
        {
            "since": (now - timedelta(minutes=5)).isoformat(),
            "until": (now + timedelta(minutes=5)).isoformat(),
        }
    )
    deadline = time.monotonic() + 60
    segments = 0
    while time.monotonic() < deadline and not segments:
        listed = get(f"/api/v1/cameras/{cameras[0]['id']}/recordings?{window}")
        segments = int(str(listed["total"]))
        time.sleep(1)
    assert segments > 0, "no recording of the simulated camera was indexed"


def _assert_simulated_gateways_report(env: dict[str, str], port: int) -> str:
    """Solar sites' simulated controllers reach the platform over MQTT within seconds."""
    token = subprocess.run(
        [str(SAFECITY), "token", "create", "--user", "admin"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    def get(path: str) -> dict[str, object]:
        return _api_json(port, token, path)

    sites = get("/api/v1/sites?limit=1000")["items"]
    assert isinstance(sites, list)
    solar = [site["id"] for site in sites if site["power_source"] == "solar"]
    assert solar, "the demo province has solar sites"
    deadline = time.monotonic() + 30
    samples = 0
    while time.monotonic() < deadline and not samples:
        samples = int(str(get(f"/api/v1/sites/{solar[0]}/power")["total"]))
        time.sleep(0.5)
    assert samples > 0
    return token


@pytest.mark.nats
# Its own waits add up to about 600 s at worst (start, gateways, recording, reads and a
# hotlist alert, stop): above the suite's default, so a slow machine fails with the
# wait's own message rather than a bare timeout.
@pytest.mark.timeout(900)
def test_demo_serves_the_province_and_stops_its_children(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SAFECITY_DATA_DIR": str(tmp_path / "data"),
        "SAFECITY_PORT": str(port),
        # One simulated camera is enough to prove streaming, recording, indexing, plate
        # reads and hotlist alerts: a single camera gets the anpr view (demo.clips).
        "SAFECITY_DEMO_VIDEO_CAMERAS": "1",
    }
    env.pop("SAFECITY_NATS_URL", None)
    process = start_safecity(["demo"], env)
    with killed_on_failure(process):
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/api/v1/health")
            except (urllib.error.URLError, ConnectionError):
                status = 0
            if status == 200:
                break
            time.sleep(0.3)
        if status != 200:
            _, stderr = process.communicate(timeout=10) if process.poll() is not None else ("", "")
            pytest.fail(f"demo never became healthy (last status {status}): {stderr[-2000:]}")
        assert body["status"] == "ok"
        # A first start answers at once and renders its camera clip meanwhile.
        sim = tmp_path / "data" / "sim"
        assert not list(sim.glob("seed7-anpr-*/ground_truth.json")), "served only after rendering"
        assert list(sim.glob("seed7-anpr-*.partial")), "the clip is being rendered"
        children = descendants(process.pid)
        nats = [pid for pid, command in children.items() if "nats-server" in command]
        assert nats, "the demo runs a private NATS server"
        cmdline = Path(f"/proc/{nats[0]}/cmdline").read_bytes().decode().split("\0")
        assert "4222" not in cmdline
        assert "127.0.0.1" in cmdline
        assert (tmp_path / "data" / "nats").is_dir()
        assert any("mosquitto" in command for command in children.values()), (
            "the demo runs a private MQTT broker for site telemetry"
        )
        token = _assert_simulated_gateways_report(env, port)
        _assert_simulated_camera_is_recorded(port, token)
        _assert_hotlisted_vehicle_is_read_and_alerted(port, token, sim)
        process.send_signal(signal.SIGTERM)
        # Stopping takes a few seconds alone; with the rest of the suite on the other core
        # one clean-clone run (2026-12-07) took over 30 s, so the bound is 60 s: a demo
        # that does not stop at all still fails here.
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "user admin, password" in out
    assert out.index("rendering their clips") < out.index("serving on")
    assert "simulated cameras streaming and recorded: PSH-" in out
    password = (tmp_path / "data" / "keys" / "demo-admin-password").read_text().strip()
    assert password in out
    time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)], "children outlived the demo"
