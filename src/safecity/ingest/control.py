"""What the ingest supervisor tells a group process over its stdin: one JSON object a line.

``{"op": "add", "camera_id": "...", "stream_url": "rtsp://...", "recording_mode": "..."}``
starts a camera, or hands a camera already there its new stream (it reconnects) or its
recording mode (it switches in place); ``{"op": "remove", "camera_id": "..."}`` stops
one (its open segment is closed). The end of stdin means the supervisor is gone or
wants the process to stop: it stops, and exits 0.

Why stdin: a camera's stream URL carries its credentials. A pipe from the supervisor
to its own child is private to those two processes: the URL is on no bus subject, no
command line, in no environment (``/proc/<pid>/environ``) and in no log.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Annotated, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError

from safecity.contracts.ingest import CAMERA_ID_PATTERN, RecordingMode


class AddCamera(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    op: Literal["add"] = "add"
    camera_id: str = Field(pattern=CAMERA_ID_PATTERN, description="Camera code.")
    stream_url: SecretStr = Field(min_length=1, description="May hold credentials.")
    recording_mode: RecordingMode = Field(description="continuous, events or off.")


class RemoveCamera(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    op: Literal["remove"] = "remove"
    camera_id: str = Field(pattern=CAMERA_ID_PATTERN)


Command = Annotated[AddCamera | RemoveCamera, Field(discriminator="op")]
COMMAND: TypeAdapter[AddCamera | RemoveCamera] = TypeAdapter(Command)


def encode(command: BaseModel) -> bytes:
    """One line of a supervisor's protocol (this one or the analytics groups'), with its
    secrets (the stream URL) in clear: for the pipe to the child only."""
    payload = command.model_dump(mode="json")
    for name, value in command:
        if isinstance(value, SecretStr):
            payload[name] = value.get_secret_value()
    return json.dumps(payload, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> AddCamera | RemoveCamera:
    """A command from one line; raises ``pydantic.ValidationError`` on anything else."""
    return COMMAND.validate_json(line)


def refusal(exc: ValidationError) -> str:
    """What was wrong with a refused line, never its content (it may hold a stream URL)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())[
        :300
    ]


def command_lines(source: BinaryIO) -> Iterator[bytes]:
    """The lines of ``source``, read from its file descriptor when it has one.

    The thread reading commands is still blocked reading when the process stops on a
    signal. Blocked in ``sys.stdin.buffer`` it would hold the buffered reader's lock, and
    the interpreter, which closes stdin as it shuts down, aborts on that lock (SIGABRT,
    "could not acquire lock for <_io.BufferedReader name='<stdin>'> at interpreter
    shutdown"), so a group stopped by Ctrl-C died with -6 and was restarted. Reading the
    descriptor with ``os.read`` holds no lock of the interpreter's."""
    try:
        descriptor = source.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        yield from source  # an in-memory source (tests): no descriptor, nothing blocks
        return
    pending = b""
    while chunk := os.read(descriptor, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending
