"""In-band parameter sets of H.264 and H.265 key frames: how a recorder sees a camera reconfigured.

A camera that changes resolution while streaming (or restarts its encoder
with other settings) sends new sequence parameter sets in front of its next
key frame. An MP4 segment describes one set of parameters in its header, so
the recorder must close the segment there and start the next one with the new
parameter sets. Finding them needs no decoding: only the NAL unit headers of
the key frame are read, so recording stays a cheap stream copy.

Packets are either Annex B (start codes; RTSP and MPEG-TS sources) or
length-prefixed (MP4 files, which keep their parameter sets out of band and
so rarely carry any in band).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

_START_CODE = b"\x00\x00\x01"
# NAL unit types of parameter sets, and which of them describe the picture.
_H264_PARAMETER_SETS = frozenset({7, 8})  # SPS, PPS
_H264_SEQUENCE = 7
_H265_PARAMETER_SETS = frozenset({32, 33, 34})  # VPS, SPS, PPS
_H265_SEQUENCE = 33


@dataclass(frozen=True)
class ParameterSets:
    sequence: bytes
    """The sequence parameter set(s): what changes with resolution, profile or level."""
    annexb: bytes
    """Every parameter set of the packet with start codes: extradata for a new MP4 track."""


def in_band_parameter_sets(codec: str, data: bytes) -> ParameterSets | None:
    """The parameter sets an Annex B ``h264``/``hevc`` packet carries; None without any."""
    if codec == "h264":
        kinds, sequence_kind, first_non_picture = _H264_PARAMETER_SETS, _H264_SEQUENCE, 6
    elif codec == "hevc":
        kinds, sequence_kind, first_non_picture = _H265_PARAMETER_SETS, _H265_SEQUENCE, 32
    else:
        return None
    if not (data.startswith(_START_CODE) or data.startswith(b"\x00" + _START_CODE)):
        return None  # length-prefixed: parameter sets live in the container's header
    sequence = bytearray()
    annexb = bytearray()
    for unit in _annexb_units(data):
        kind = (unit[0] & 0x1F) if codec == "h264" else (unit[0] >> 1) & 0x3F
        if kind < first_non_picture:
            break  # the picture's slices: parameter sets come before them
        if kind not in kinds:
            continue
        annexb += b"\x00\x00\x00\x01" + unit
        if kind == sequence_kind:
            sequence += unit
    if not sequence:
        return None
    return ParameterSets(sequence=bytes(sequence), annexb=bytes(annexb))


def _annexb_units(data: bytes) -> Iterator[bytes]:
    start = data.find(_START_CODE)
    while start >= 0:
        begin = start + len(_START_CODE)
        end = data.find(_START_CODE, begin)
        # A four-byte start code leaves its leading zero at the end of the unit before.
        unit = data[begin:] if end < 0 else data[begin:end].rstrip(b"\x00")
        if unit:
            yield unit
        start = end
