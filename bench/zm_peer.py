"""ZoneMinder as a side-by-side peer (a helper module, not a benchmark itself).

Used by ``ingest_capacity.py --peer zoneminder`` (Record mode) and by
``zm_modect.py`` (Modect). Follows ``../shared/peers/zoneminder.md``: monitors
are rows in ZoneMinder's MariaDB database (Record: DecodingEnabled=0; Modect:
decoding on, the default "All" zone; both camera passthrough into MP4), and the
daemons are started and stopped with ``zmpkg.pl`` as www-data. Nothing is
installed here: without ZoneMinder or its database this module says which
Debian packages and which one-time database steps are missing.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import av

APT_PACKAGES = "zoneminder mariadb-server php-mysql"
# Every long-running process a started ZoneMinder consists of (zmpkg.pl exits).
ZM_PROCESSES = frozenset(
    {"zmc", "zmdc.pl", "zmfilter.pl", "zmwatch.pl", "zmstats.pl", "zmtelemetry.pl", "zmaudit.pl"}
)


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def machine_busy_ticks() -> int:
    """CPU time every process of the machine has used since boot (all cores), in ticks."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return user + nice + system + irq + softirq + steal


def memory_mb(pid: int | str) -> tuple[float, float]:
    """(RSS, PSS) in MB from /proc/PID/smaps_rollup."""
    rss = pss = 0.0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("Pss:"):
            pss = int(line.split()[1]) / 1024
    return rss, pss


@dataclass(frozen=True)
class Recordings:
    files: int
    playable: int
    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def probe_recordings(files: list[Path]) -> Recordings:
    """Open every file with PyAV: playable if its first frame decodes; frames and span counted."""
    playable = frames = 0
    seconds = 0.0
    for path in files:
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                decoded = False
                count, first, last = 0, None, None
                for packet in container.demux(stream):
                    if packet.size == 0 or packet.pts is None:
                        continue
                    if not decoded:
                        decoded = bool(packet.decode())
                    count += 1
                    first = packet.pts if first is None else min(first, packet.pts)
                    last = packet.pts if last is None else max(last, packet.pts)
                if decoded and first is not None and last is not None and stream.time_base:
                    playable += 1
                    frames += count
                    rate = float(stream.average_rate or 15)
                    seconds += float((last - first) * stream.time_base) + 1 / rate
        except (av.error.FFmpegError, IndexError):
            continue
    return Recordings(len(files), playable, frames, seconds)


def sql(statement: str) -> list[list[str]]:
    """Run SQL on ZoneMinder's database as zm.conf's zmuser, over the local socket."""
    done = subprocess.run(
        ["mariadb", "--batch", "--skip-column-names", "-uzmuser", "-pzmpass", "zm"],
        input=statement,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mariadb failed: {done.stderr.strip()}")
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def unavailable_reason() -> str | None:
    if shutil.which("zmpkg.pl") is None or shutil.which("zmc") is None:
        return (
            "ZoneMinder is not installed. Install it with: DEBIAN_FRONTEND=noninteractive "
            f"apt-get install -y {APT_PACKAGES} (then follow ../shared/peers/zoneminder.md, "
            "step 4, for the database)"
        )
    if shutil.which("mariadb") is None:
        return f"the mariadb client is missing: apt-get install -y {APT_PACKAGES}"
    try:
        sql("SELECT Path FROM Storage WHERE Id=1")
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return (
            f"ZoneMinder's database is not reachable ({error}): create it as in "
            "../shared/peers/zoneminder.md, step 4 (zm_create.sql, user zmuser/zmpass)"
        )
    return None


def zm_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        names = {Path(arg.decode(errors="replace")).name for arg in argv[:3] if arg}
        if names & ZM_PROCESSES:
            pids.append(int(entry.name))
    return pids


def mariadb_pid() -> int | None:
    """The database server ZoneMinder writes to (its CPU is reported beside, not in the total)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "mariadbd":
                    return int(entry.name)
            except OSError:
                continue
    return None


def zmpkg(action: str) -> None:
    subprocess.run(
        ["runuser", "-u", "www-data", "--", "/usr/bin/zmpkg.pl", action],
        check=True,
        capture_output=True,
        timeout=120,
    )


def configure_monitors(urls: list[str], function: str = "Record") -> None:
    """One monitor per URL in ``function`` (Record or Modect): the 1.36 UI defaults plus
    passthrough, as in the peer recipe. Modect needs every frame decoded."""
    if function not in ("Record", "Modect"):
        raise ValueError(f"unsupported ZoneMinder function {function!r}")
    decoding = 0 if function == "Record" else 1
    statements = [
        "DELETE FROM Zones; DELETE FROM Monitors; DELETE FROM Monitor_Status;",
        "ALTER TABLE Monitors AUTO_INCREMENT=1;",
    ]
    for k, url in enumerate(urls, start=1):
        statements.append(
            f"INSERT INTO Monitors SET Id={k}, Name='cam{k}', Type='Ffmpeg', "
            f"`Function`='{function}', Enabled=1, DecodingEnabled={decoding}, Path='{url}', "
            "Method='rtpRtsp', Options='', "
            "Width=1280, Height=720, Colours=4, Palette=0, Orientation='ROTATE_0', "
            "Deinterlacing=0, StorageId=1, SaveJPEGs=0, VideoWriter=2, OutputContainer='auto', "
            "Encoder='auto', RecordAudio=0, LabelFormat='%N - %Y-%m-%d %H:%M:%S %z', "
            "ImageBufferCount=3, MaxImageBufferCount=0, WarmupCount=0, PreEventCount=5, "
            "PostEventCount=5, StreamReplayBuffer=0, AlarmFrameCount=1, SectionLength=600, "
            "MinSectionLength=10, AnalysisFPSLimit=NULL, MaxFPS=NULL, AlarmMaxFPS=NULL, "
            f"FPSReportInterval=100, RefBlendPerc=6, AlarmRefBlendPerc=6, Sequence={k}, "
            "ZoneCount=1;"
        )
        statements.append(
            f"INSERT INTO Zones SET MonitorId={k}, Name='All', Type='Active', Units='Percent', "
            "NumCoords=4, Coords='0,0 1279,0 1279,719 0,719', Area=921600, AlarmRGB=0xff0000, "
            "CheckMethod='Blobs', MinPixelThreshold=25, MinAlarmPixels=27648, "
            "MaxAlarmPixels=691200, FilterX=3, FilterY=3, MinFilterPixels=27648, "
            "MaxFilterPixels=691200, MinBlobPixels=18432, MinBlobs=1;"
        )
    sql("\n".join(statements))


@dataclass(frozen=True)
class ZmResult:
    streams: int
    processes: int
    cpu_percent: float
    rss_mb: float
    pss_mb: float
    capture_fps_min: float
    capture_fps_mean: float
    capturing: int
    recordings: Recordings
    server_cpu_percent: float
    database_cpu_percent: float
    analysis_fps_min: float = 0.0
    analysis_fps_mean: float = 0.0
    analysing_at_rate: int = 0
    """Monitors whose every AnalysisFPS sample in the window was within 5 % of ``fps``."""
    rss_growth_mb_per_s: float = 0.0
    seconds: float = 0.0
    others_cpu_percent: float = 0.0
    """CPU the rest of the machine used in the window (other work, not ZoneMinder, its
    database or the cameras): how loaded the machine was while ZoneMinder ran."""


def _zm_memory() -> tuple[float, float]:
    rss = pss = 0.0
    for pid in zm_pids():
        try:
            pid_rss, pid_pss = memory_mb(pid)
        except OSError:
            continue
        rss, pss = rss + pid_rss, pss + pid_pss
    return rss, pss


def measure_zoneminder(
    urls: list[str],
    server_pid: int,
    warmup: float,
    window: float,
    ticks: int,
    *,
    function: str = "Record",
    fps: float = 15.0,
    discard_events: bool = False,
) -> ZmResult:
    """Run ``urls`` through ZoneMinder in ``function``: start, warm up, measure over
    ``window``, stop, probe the recordings (then delete them when ``discard_events``).

    Capture and analysis rates are ZoneMinder's own, as it writes them to Monitor_Status
    every FPSReportInterval (100) frames; they are sampled every 10 s of the window."""
    if zm_pids():
        raise RuntimeError("ZoneMinder is already running: stop it first (zmpkg.pl stop)")
    configure_monitors(urls, function)
    storage = Path(sql("SELECT Path FROM Storage WHERE Id=1")[0][0])
    last_event = int(sql("SELECT COALESCE(MAX(Id), 0) FROM Events")[0][0])
    try:
        zmpkg("start")  # inside the try: a run stopped while starting still stops ZoneMinder
        time.sleep(warmup)
        pids = zm_pids()
        before = {pid: cpu_ticks(pid) for pid in pids}
        database = mariadb_pid()
        database_before = cpu_ticks(database) if database else 0
        rss_before, _ = _zm_memory()
        busy_before = machine_busy_ticks()
        server_before, started = cpu_ticks(server_pid), time.monotonic()
        samples: list[list[tuple[float, float]]] = []
        deadline = started + window
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(10.0, left))
            rows = sql(
                "SELECT MonitorId, CaptureFPS, AnalysisFPS, Status FROM Monitor_Status "
                "ORDER BY MonitorId"
            )
            samples.append(
                [(float(row[1]), float(row[2])) for row in rows if row[3] == "Connected"]
            )
        elapsed = time.monotonic() - started
        used = 0
        for pid in zm_pids():
            try:
                used += cpu_ticks(pid) - before.get(pid, 0)
            except OSError:
                continue
        busy = machine_busy_ticks() - busy_before
        rss, pss = _zm_memory()
        server_used = cpu_ticks(server_pid) - server_before
        database_used = cpu_ticks(database) - database_before if database else 0
        capturing = len(samples[-1]) if samples else 0
    finally:
        zmpkg("stop")
    for _ in range(30):  # zmpkg.pl stop returns before every zmc has closed its event
        if not zm_pids():
            break
        time.sleep(1)
    ids = {row[0] for row in sql("SELECT Id FROM Events") if int(row[0]) > last_event}
    files = sorted(p for p in storage.glob("*/*/*/*.mp4") if p.parent.name in ids)
    recordings = probe_recordings(files)
    if discard_events and ids:
        for folder in {path.parent for path in files}:
            shutil.rmtree(folder, ignore_errors=True)
        # last_event is an int read from the database, not text from outside.
        sql(f"DELETE FROM Events WHERE Id > {last_event:d}")  # noqa: S608
    capture = [c for sample in samples for c, _ in sample]
    analysis = [a for sample in samples for _, a in sample]
    at_rate = 0
    if samples and all(len(sample) == len(urls) for sample in samples):
        at_rate = sum(
            1
            for k in range(len(urls))
            if all(sample[k][1] >= 0.95 * fps and sample[k][0] >= 0.95 * fps for sample in samples)
        )
    return ZmResult(
        streams=len(urls),
        processes=len(pids),
        cpu_percent=100 * used / ticks / elapsed,
        rss_mb=rss,
        pss_mb=pss,
        capture_fps_min=min(capture, default=0.0),
        capture_fps_mean=sum(capture) / len(capture) if capture else 0.0,
        capturing=capturing,
        recordings=recordings,
        server_cpu_percent=100 * server_used / ticks / elapsed,
        database_cpu_percent=100 * database_used / ticks / elapsed,
        analysis_fps_min=min(analysis, default=0.0),
        analysis_fps_mean=sum(analysis) / len(analysis) if analysis else 0.0,
        analysing_at_rate=at_rate,
        rss_growth_mb_per_s=(rss - rss_before) / elapsed,
        seconds=elapsed,
        others_cpu_percent=100 * (busy - used - server_used - database_used) / ticks / elapsed,
    )
