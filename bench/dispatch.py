"""Dispatch costs: nearest-unit recommendation with many units in a district, and GPS
fixes stored through the API (goals: recommendation p95 under 200 ms with 500 units in
the district; 200 fixes/s from one application process, i.e. 2,000 units reporting
every 10 s).

The demo province is seeded on SQLite (or ``--database-url``); ``--units`` police
mobiles are placed at random within 15 km of Peshawar's centre. Recommendation time is
``DispatchService.recommend`` inside a transaction (filter by status, capability and
district through the permission filter, estimate, rank), ``--runs`` times. GPS fixes are
POSTed in-process (Starlette's TestClient, so no network) by one unit's own token,
``--fixes`` times, each a new fix; latency is per request. Then another unit sends
``--fixes`` new fixes through the batch endpoint, ``--batch`` fixes a request.

    .venv/bin/python bench/dispatch.py [--units 500] [--runs 50] [--fixes 500] [--batch 50]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from tests.factories import make_user, token_for  # noqa: E402

from safecity.command.incidents_schemas import IncidentCreate  # noqa: E402
from safecity.command.units_models import Unit  # noqa: E402
from safecity.command.units_schemas import UnitCreate  # noqa: E402
from safecity.core.clock import utcnow  # noqa: E402
from safecity.core.settings import Settings  # noqa: E402
from safecity.identity.system import system_principal  # noqa: E402
from safecity.web import bootstrap  # noqa: E402
from safecity.web.app import create_app  # noqa: E402
from safecity.web.platform import Platform, build_platform  # noqa: E402

CENTRE = (34.0151, 71.5249)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def place_units(platform: Platform, count: int) -> None:
    rng = random.Random(5)
    admin = system_principal("bench")
    with platform.transaction() as session:
        for n in range(count):
            unit = platform.units.create(
                session,
                admin,
                UnitCreate(callsign=f"BENCH-{n}", kind="police_mobile", district="peshawar"),
            )
            unit.latitude = CENTRE[0] + rng.uniform(-0.135, 0.135)
            unit.longitude = CENTRE[1] + rng.uniform(-0.16, 0.16)
            unit.position_at = utcnow()
            unit.status = "available_mobile" if n % 4 else "on_scene"


def time_recommendation(platform: Platform, runs: int) -> list[float]:
    admin = system_principal("bench")
    with platform.transaction() as session:
        incident = platform.incidents.create(
            session,
            admin,
            IncidentCreate(
                district="peshawar", type="robbery", latitude=CENTRE[0], longitude=CENTRE[1]
            ),
        )
        incident_id = incident.id
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        with platform.transaction() as session:
            incident = platform.incidents.get(session, admin, incident_id)
            ranked = platform.dispatch.recommend(session, admin, incident)
        timings.append((time.perf_counter() - started) * 1000)
        assert len(ranked) == 5
    return timings


def time_fixes(platform: Platform, count: int, batch: int = 0) -> tuple[list[float], float]:
    """Per-request latency and fixes/s; ``batch`` > 0: that many fixes a batch request."""
    name = f"bench-unit-{batch}"
    make_user(platform, name, ["field_unit"], districts=["peshawar"])
    with platform.transaction() as session:
        unit = platform.units.create(
            session,
            system_principal("bench"),
            UnitCreate(
                callsign=f"BENCH-GPS{batch}",
                kind="police_mobile",
                district="peshawar",
                username=name,
            ),
        )
        unit_id = unit.id
    headers = {"Authorization": f"Bearer {token_for(platform, name)}"}
    start = utcnow() - timedelta(seconds=count)
    fixes = [
        {
            "recorded_at": (start + timedelta(seconds=n)).isoformat(),
            "latitude": CENTRE[0] + n * 1e-5,
            "longitude": CENTRE[1],
        }
        for n in range(count)
    ]
    timings = []
    with TestClient(create_app(platform), base_url="http://127.0.0.1") as client:
        began = time.perf_counter()
        for first in range(0, count, batch or 1):
            t0 = time.perf_counter()
            if batch:
                body = {"fixes": fixes[first : first + batch]}
                url = f"/api/v1/units/{unit_id}/positions/batch"
                response = client.post(url, json=body, headers=headers)
            else:
                url = f"/api/v1/units/{unit_id}/positions"
                response = client.post(url, json=fixes[first], headers=headers)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.text
            if batch:
                assert response.json()["counts"]["stored"] == len(body["fixes"]), response.text
        total = time.perf_counter() - began
    return timings, count / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--fixes", type=int, default=500)
    parser.add_argument("--batch", type=int, default=50, help="fixes per batch request")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            secret_key=SecretStr("bench-dispatch-" * 4),
            database_url=args.database_url,
        )
        platform = build_platform(settings)
        bootstrap.upgrade_database(platform)
        bootstrap.seed_base(platform)
        bootstrap.seed_demo(platform)
        platform.ready = True
        try:
            place_units(platform, args.units)
            with platform.sessions() as session:
                available = session.query(Unit).filter(Unit.status == "available_mobile").count()
            rec = time_recommendation(platform, args.runs)
            fixes, rate = time_fixes(platform, args.fixes)
            batches, batch_rate = time_fixes(platform, args.fixes, args.batch)
        finally:
            platform.dispose()
    print(f"units in the district: {args.units} ({available} available)")
    print(
        f"recommendation: median {statistics.median(rec):.1f} ms, "
        f"p95 {percentile(rec, 0.95):.1f} ms over {args.runs} runs"
    )
    print(
        f"GPS fixes: {rate:.0f}/s sequential, median {statistics.median(fixes):.1f} ms, "
        f"p95 {percentile(fixes, 0.95):.1f} ms over {args.fixes}"
    )
    print(
        f"GPS fixes in batches of {args.batch}: {batch_rate:.0f}/s sequential, median "
        f"{statistics.median(batches):.1f} ms, p95 {percentile(batches, 0.95):.1f} ms a request "
        f"over {len(batches)} requests"
    )


if __name__ == "__main__":
    main()
