"""Plate search latency over a million stored reads, on SQLite and on PostgreSQL.

Run: PYTHONPATH=. .venv/bin/python bench/plate_search.py [--reads 1000000] [--repeat 7]
       [--backends sqlite,postgresql]
(PYTHONPATH=. lets it borrow the tests' throwaway PostgreSQL server and user factory.)
Builds a fresh database per backend (PostgreSQL: a throwaway server, as the tests
start one), stores ``--reads`` plate reads spread over 30 days and 20 cameras in
two districts, then times each search through the real service (permission
filter, count for paging, first page of 50, audit record), as a Peshawar-scoped
investigator. Prints a markdown table of median and worst milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from tests.factories import make_user
from tests.support.postgres import start_postgres

from safecity.core.clock import utcnow
from safecity.core.settings import Settings
from safecity.events.models import PlateReadRecord
from safecity.events.plates import SearchMode, confusable_key
from safecity.events.service import PlateSearch
from safecity.identity.permissions import Principal
from safecity.identity.system import system_principal
from safecity.registry.schemas import CameraCreate, SiteCreate
from safecity.web import bootstrap
from safecity.web.platform import Platform, build_platform

BATCH = 20_000
CAMERAS_PER_DISTRICT = 10
KNOWN = "LEB3656"  # planted a few times, with a B/8 misreading beside it
SEARCHES: list[tuple[str, str | None, SearchMode]] = [
    ("exact plate", KNOWN, "exact"),
    ("wildcard, known prefix", "LE?-36*", "wildcard"),
    ("wildcard, only the end known", "*3656", "wildcard"),
    ("wildcard, both ends open (scans)", "*365*", "wildcard"),
    ("fuzzy (confusables)", KNOWN, "fuzzy"),
    ("near (one character off, and confusables)", KNOWN, "near"),
    ("no plate: a camera's last hour", None, "wildcard"),
]
LETTERS = string.ascii_uppercase
DIGITS = string.digits


def _random_plate(rng: random.Random) -> str:
    letters = "".join(rng.choices(LETTERS, k=rng.choice((2, 3))))
    return letters + "".join(rng.choices(DIGITS, k=rng.choice((3, 4))))


def _cameras(platform: Platform) -> list[tuple[int, str]]:
    admin = system_principal("bench")
    made: list[tuple[int, str]] = []
    with platform.transaction() as session:
        for district, prefix, lat, lon in (
            ("peshawar", "PSH", 34.0, 71.5),
            ("bannu", "BNU", 33.0, 70.6),
        ):
            site = platform.registry.create_site(
                session,
                admin,
                SiteCreate(
                    code=f"{prefix}-B1",
                    name=f"Bench {district}",
                    district=district,
                    site_type="intersection",
                    latitude=lat,
                    longitude=lon,
                ),
            )
            for n in range(CAMERAS_PER_DISTRICT):
                code = f"{prefix}-BC{n:02d}"
                camera = platform.registry.create_camera(
                    session, admin, CameraCreate(code=code, site=site.code, name=code)
                )
                made.append((camera.id, code))
    return made


def _fill(platform: Platform, reads: int, cameras: list[tuple[int, str]]) -> float:
    rng = random.Random(42)
    now = utcnow()
    span = timedelta(days=30).total_seconds()
    started = time.perf_counter()
    done = 0
    while done < reads:
        rows = []
        for i in range(done, min(done + BATCH, reads)):
            plate = _random_plate(rng)
            if i % 200_000 == 7:
                plate = KNOWN
            elif i % 200_000 == 11:
                plate = "LE83656"
            camera_id, _ = cameras[rng.randrange(len(cameras))]
            at = now - timedelta(seconds=rng.random() * span)
            rows.append(
                {
                    "message_id": f"bench-{i}",
                    "camera_id": camera_id,
                    "at": at,
                    "first_seen": at,
                    "last_seen": at,
                    "text": plate,
                    "plate_key": confusable_key(plate),
                    "text_reversed": plate[::-1],
                    "confidence": 0.9,
                    "rule": "generic",
                    "frames": 3,
                    "hotlist_hits": [],
                    "hit": False,
                    "received_at": at,
                }
            )
        with platform.transaction() as session:
            session.execute(insert(PlateReadRecord), rows)
        done += len(rows)
    return time.perf_counter() - started


def _time(call: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    call()  # warm the caches once
    samples, found = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        found = call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, max(samples) * 1000, found


def _search(platform: Platform, principal: Principal, search: PlateSearch) -> Callable[[], int]:
    def run() -> int:
        with platform.transaction() as session:
            _, total = platform.events.search_plates(
                session, principal, search, purpose="benchmark", limit=50
            )
        return total

    return run


@contextmanager
def _platform(backend: str, root: Path) -> Iterator[Platform]:
    if backend == "sqlite":
        platform = build_platform(Settings(data_dir=root / "sqlite"))
        try:
            yield platform
        finally:
            platform.dispose()
        return
    server = start_postgres()
    try:
        admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE bench"))
        admin.dispose()
        settings = Settings(data_dir=root / "pg", database_url=server.url("bench"))
        platform = build_platform(settings)
        try:
            yield platform
        finally:
            platform.dispose()
    finally:
        server.stop()


def run(backend: str, reads: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, _platform(backend, Path(tmp)) as platform:
        bootstrap.upgrade_database(platform)
        bootstrap.seed_base(platform)
        cameras = _cameras(platform)
        seconds = _fill(platform, reads, cameras)
        if backend == "postgresql":
            with platform.engine.connect() as connection:
                connection.execute(text("ANALYZE plate_reads"))
        else:
            with platform.engine.connect() as connection:
                connection.execute(text("ANALYZE"))
        principal = make_user(platform, "bench-inv", ["investigator"], districts=["peshawar"])
        print(
            f"\n{backend}: {reads:,} reads stored in {seconds:.0f} s "
            f"({reads / seconds:,.0f} reads/s, batches of {BATCH:,})\n"
        )
        print("| search | term | matches in scope | median (ms) | worst (ms) |")
        print("|---|---|---:|---:|---:|")
        hour_ago = utcnow() - timedelta(hours=1)
        for label, term, mode in SEARCHES:
            search = (
                PlateSearch(plate=term, mode=mode)
                if term
                else PlateSearch(camera=cameras[0][1], since=hour_ago)
            )
            median, worst, found = _time(_search(platform, principal, search), repeat)
            shown = f"`{term}` ({mode})" if term else f"camera {cameras[0][1]}, since 1 h"
            print(f"| {label} | {shown} | {found:,} | {median:.1f} | {worst:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        run(backend, args.reads, args.repeat)


if __name__ == "__main__":
    main()
