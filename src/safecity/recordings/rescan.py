"""Find closed segment files the index lacks, and describe them as their recorder would have.

A ``SegmentClosed`` can be lost before it is published (the worker killed while
the bus was down): the file is on disk, complete and playable, but nobody can
find it and retention never deletes it. The maintenance sweep lists recent
day folders, probes each ``.mp4`` it does not know (PyAV, demux only) and has
it indexed. Open segments are named ``.mp4.partial`` and never match; a file
must also have been left alone for a while, so that a message in flight wins.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import av.error

from safecity.contracts.ingest import (
    SegmentClosed,
    segment_kind_from_comment,
    segment_message_id,
)

log = logging.getLogger(__name__)

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# <camera>_<YYYYMMDDTHHMMSS.mmm>Z[-n].mp4: the recorder's name for a closed segment.
_NAME = re.compile(r"^(?P<camera>.+)_(?P<stamp>\d{8}T\d{6}\.\d{3})Z(-\d+)?\.mp4$")
_HASH_CHUNK = 1 << 20


def recent_day_folders(camera_folder: Path, since: date) -> Iterator[Path]:
    """Day folders of a camera from ``since`` on (names are UTC dates), oldest first."""
    if not camera_folder.is_dir():
        return
    for folder in sorted(camera_folder.iterdir()):
        if folder.is_dir() and _DAY.match(folder.name) and folder.name >= since.isoformat():
            yield folder


def settled_segment_files(folder: Path, camera_code: str, settled_before: datetime) -> list[Path]:
    """Closed segment files of ``camera_code`` in ``folder`` unchanged since ``settled_before``."""
    found = []
    for path in sorted(folder.glob("*.mp4")):
        match = _NAME.match(path.name)
        if match is None or match["camera"] != camera_code:
            continue
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if modified < settled_before:
            found.append(path)
    return found


def probe_segment(media_root: Path, path: Path, camera_code: str) -> SegmentClosed:
    """The message the recorder would have published for ``path``; raises ValueError if the
    file is not a readable video segment of that camera."""
    match = _NAME.match(path.name)
    if match is None or match["camera"] != camera_code:
        raise ValueError(f"{path.name} is not a segment name of camera {camera_code}")
    started_at = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError(f"{path.name} has no video stream")
            stream = container.streams.video[0]
            comment = container.metadata.get("comment", "")
            codec = stream.codec_context.name
            width, height = stream.codec_context.width, stream.codec_context.height
            frames = key_frames = 0
            first_pts: int | None = None
            last_pts = interval = 0
            time_base = stream.time_base or Fraction(1, 90000)
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                if first_pts is None:
                    first_pts = last_pts = packet.pts
                elif packet.pts > last_pts:
                    interval, last_pts = packet.pts - last_pts, packet.pts
                frames += 1
                key_frames += 1 if packet.is_keyframe else 0
    except av.error.FFmpegError as exc:
        raise ValueError(f"{path.name} cannot be read as video: {exc}") from exc
    if first_pts is None or key_frames == 0:
        raise ValueError(f"{path.name} holds no decodable frame")
    duration = float((last_pts - first_pts + interval) * time_base)
    kind = segment_kind_from_comment(comment)
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_HASH_CHUNK):
            digest.update(chunk)
    sha256 = digest.hexdigest()
    return SegmentClosed(
        message_id=segment_message_id(camera_code, sha256),
        camera_id=camera_code,
        path=path.relative_to(media_root).as_posix(),
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=duration),
        duration_seconds=duration,
        size_bytes=path.stat().st_size,
        sha256=sha256,
        codec=codec,
        width=width,
        height=height,
        frames=frames,
        key_frames=key_frames,
        kind=kind,
    )
