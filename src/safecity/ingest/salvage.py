"""Salvage the segment a crash or power cut left open.

The recorder writes fragmented MP4 and flushes every fragment as it closes, so
an interrupted ``<name>.mp4.partial`` holds every complete fragment (a key
frame's worth of video each) written before the crash. Footage from just
before a failure is often the footage that matters, so when a camera's worker
starts again it keeps what can be read: the complete packets are copied (not
re-encoded) into an ordinary segment, announced like any other, and the
partial file is removed. The segment keeps the kind its recorder gave it (the
MP4 comment tag is written with the header, before any fragment), so footage an
event-mode camera kept around an event is still announced, kept and retained as
event footage. A partial with no complete fragment holds no video and is simply
removed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import av.error

from safecity.contracts.ingest import (
    SegmentClosed,
    SegmentKind,
    segment_kind_from_comment,
    segment_message_id,
)
from safecity.ingest.segment_files import (
    FRAGMENTED_MP4,
    PARTIAL_SUFFIX,
    seal_segment,
    segment_comment,
)

logger = logging.getLogger(__name__)

_NAME = re.compile(
    r"^(?P<camera>.+)_(?P<stamp>\d{8}T\d{6}\.\d{3})Z(?P<suffix>-\d+)?\.mp4"
    + re.escape(PARTIAL_SUFFIX)
    + "$"
)


_REWRITE_SUFFIX = ".salvage"


@dataclass(frozen=True)
class _Contents:
    frames: int
    key_frames: int
    duration_seconds: float
    codec: str
    width: int
    height: int
    kind: SegmentKind


def salvage_partial_segments(camera_id: str, media_root: Path) -> list[SegmentClosed]:
    """Turn each readable partial segment of ``camera_id`` into a closed one; oldest first.

    Call it before the camera's recorder starts (one owner per camera): a
    partial file of a running recorder is still being written.
    """
    salvaged: list[SegmentClosed] = []
    for partial in sorted((Path(media_root) / camera_id).glob(f"*/*{PARTIAL_SUFFIX}")):
        match = _NAME.match(partial.name)
        if match is None or match["camera"] != camera_id:
            logger.warning("camera %s: leaving %s alone: not a segment name", camera_id, partial)
            continue
        final = _free_name(partial)
        rewritten = partial.with_name(partial.name + _REWRITE_SUFFIX)
        contents = _rewrite(partial, rewritten)
        if contents is None:
            logger.warning(
                "camera %s: %s holds no complete fragment; removing it", camera_id, partial.name
            )
            partial.unlink(missing_ok=True)
            continue
        size, digest = seal_segment(rewritten, final)
        partial.unlink()
        # The name holds the start as the recorder knew it when it opened the file.
        started_at = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
        message = SegmentClosed(
            message_id=segment_message_id(camera_id, digest),
            camera_id=camera_id,
            path=final.relative_to(media_root).as_posix(),
            started_at=started_at,
            ended_at=started_at + timedelta(seconds=contents.duration_seconds),
            duration_seconds=contents.duration_seconds,
            size_bytes=size,
            sha256=digest,
            codec=contents.codec,
            width=contents.width,
            height=contents.height,
            frames=contents.frames,
            key_frames=contents.key_frames,
            kind=contents.kind,
        )
        logger.warning(
            "camera %s: salvaged %d frames (%.1f s) of an interrupted segment as %s",
            camera_id,
            contents.frames,
            contents.duration_seconds,
            message.path,
        )
        salvaged.append(message)
    return salvaged


def _rewrite(partial: Path, target: Path) -> _Contents | None:
    """Copy the complete packets of ``partial`` into ``target`` (stream copy); None if none.

    The last fragment may have been cut short by the crash: copying stops at the
    first packet that is missing bytes, so the salvaged file plays to its end.
    """
    frames = key_frames = 0
    kind: SegmentKind = "continuous"
    first: int | None = None
    last = interval = 0
    try:
        with av.open(str(partial)) as source:
            if not source.streams.video:
                return None
            stream = source.streams.video[0]
            context = stream.codec_context
            time_base = stream.time_base or Fraction(1, 90000)
            kind = segment_kind_from_comment(source.metadata.get("comment", ""))
            with av.open(str(target), "w", format="mp4", options=dict(FRAGMENTED_MP4)) as output:
                output.metadata["comment"] = segment_comment(kind)
                copy = output.add_stream_from_template(stream)
                try:
                    for packet in source.demux(stream):
                        if not packet.size or packet.pts is None or packet.is_corrupt:
                            break
                        if first is None:
                            if not packet.is_keyframe:
                                break
                            first = last = packet.pts
                        elif packet.pts > last:
                            interval, last = packet.pts - last, packet.pts
                        packet.stream = copy
                        output.mux(packet)
                        frames += 1
                        key_frames += 1 if packet.is_keyframe else 0
                except av.error.FFmpegError:
                    pass  # the fragment the crash cut short: keep what came before it
    except (av.error.FFmpegError, OSError) as exc:
        logger.warning("cannot read %s: %s", partial.name, exc)
        first = None
    if first is None or frames == 0:
        target.unlink(missing_ok=True)
        return None
    duration = float((last - first + interval) * time_base)
    return _Contents(
        frames, key_frames, duration, context.name, context.width, context.height, kind
    )


def _free_name(partial: Path) -> Path:
    final = partial.with_name(partial.name[: -len(PARTIAL_SUFFIX)])
    number = 1
    while final.exists():
        final = partial.with_name(f"{final.stem.split('-salvaged')[0]}-salvaged{number}.mp4")
        number += 1
    return final
