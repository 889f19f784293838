"""Segment files on disk: how they are opened, checked, sealed and tagged.

Kept apart from the recorder's packet logic: the salvage and the rescan use the
same rules for what a finished segment is.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import av
import av.error
from av.video.stream import VideoStream

from safecity.contracts.ingest import SEGMENT_COMMENT_PREFIX, SegmentKind

if TYPE_CHECKING:
    VideoPacket: TypeAlias = av.Packet[VideoStream]

FRAGMENTED_MP4 = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof",
    # Without it a finished fragment waits in FFmpeg's 32 KB I/O buffer, and a
    # killed recorder leaves an open segment holding nothing but its header.
    "flush_packets": "1",
}
PARTIAL_SUFFIX = ".partial"
_HASH_CHUNK = 1 << 20
# Free space below this, after a write went missing, counts as a full disk.
_NEARLY_FULL_BYTES = 1 << 20


def picture_size(codec: str, packet: VideoPacket) -> tuple[int, int] | None:
    """Decode one key frame on its own: its picture size, or None if it does not decode.

    Used once per parameter change, so recording stays a stream copy otherwise.
    """
    try:
        decoder = av.CodecContext.create(codec, "r")
        if not isinstance(decoder, av.VideoCodecContext):
            return None
        frames = [*decoder.decode(packet), *decoder.decode(None)]
    except (av.error.FFmpegError, ValueError):
        return None
    for frame in frames:
        return frame.width, frame.height
    return None


def check_complete(partial: Path, frames: int) -> None:
    """Raise OSError unless ``partial`` holds ``frames`` whole packets (demuxed, not decoded)."""
    found = 0
    try:
        with av.open(str(partial)) as container:
            for packet in container.demux(video=0):
                if packet.size and not packet.is_corrupt:
                    found += 1
    except av.error.FFmpegError:
        pass  # a fragment cut short: the count below says how much is readable
    if found >= frames:
        return
    # FFmpeg lost the reason; a file system with no room left is the usual one.
    full = shutil.disk_usage(partial.parent).free < _NEARLY_FULL_BYTES
    raise OSError(
        errno.ENOSPC if full else errno.EIO,
        f"only {found} of {frames} frames reached the disk",
    )


def is_out_of_space(exc: BaseException) -> bool:
    """A write refused for want of space: a full file system or an exhausted quota."""
    code = getattr(exc, "errno", None)
    # FFmpeg reports write errors as negative errno values through PyAV.
    return code is not None and abs(code) in (errno.ENOSPC, errno.EDQUOT)


def segment_comment(kind: SegmentKind) -> str:
    """The MP4 comment tag of a segment: its kind, readable without the bus message."""
    return SEGMENT_COMMENT_PREFIX + kind


def seal_segment(partial: Path, final: Path, *, fsync: bool = True) -> tuple[int, str]:
    """Flush a finished segment to disk, hash it and give it its final name: (size, sha256)."""
    digest = hashlib.sha256()
    with partial.open("rb") as file:
        while chunk := file.read(_HASH_CHUNK):
            digest.update(chunk)
        if fsync:
            os.fsync(file.fileno())
        size = file.tell()
    os.replace(partial, final)
    if fsync:
        # The rename itself must survive a power cut, not only the data.
        folder = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return size, digest.hexdigest()
