"""What a supervisor tells a worker process over its stdin: one JSON object per line.

``{"op": "add", "config": <AnalyticsConfigChanged>, "stream_url": "rtsp://..."}``
starts a camera (or hands a camera already there its newer configuration);
``{"op": "remove", "camera_id": "..."}`` stops one. The end of stdin means the
supervisor is gone or wants the process to stop: it stops, and exits 0.

Why stdin: a camera's stream URL carries its credentials. A pipe from the
supervisor to its own child is private to those two processes: the URL is
on no bus subject, no command line, in no environment (``/proc/<pid>/environ``)
and in no log. The URL is a ``SecretStr`` so that printing a command never shows it.
Removing a camera and the line format are the ingest groups' own (``ingest.control``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter

from safecity.contracts.analytics_config import AnalyticsConfigChanged
from safecity.ingest.control import RemoveCamera, encode

__all__ = ["COMMAND", "AddCamera", "RemoveCamera", "decode", "encode"]


class AddCamera(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    op: Literal["add"] = "add"
    config: AnalyticsConfigChanged
    stream_url: SecretStr = Field(min_length=1)


Command = Annotated[AddCamera | RemoveCamera, Field(discriminator="op")]
COMMAND: TypeAdapter[AddCamera | RemoveCamera] = TypeAdapter(Command)


def decode(line: bytes) -> AddCamera | RemoveCamera:
    """A command from one line; raises ``pydantic.ValidationError`` on anything else."""
    return COMMAND.validate_json(line)
