"""Camera ingest: read streams, record them without re-encoding, report their health.

Data plane (DESIGN.md): one reader per camera, frames handed on by reference
through bounded drop-oldest queues, facts published on the bus as contracts
(``SegmentClosed``, ``CameraHealth``); nothing here opens the database.

- ``CameraReader``: PyAV reader with timeouts, capped backoff and decode modes.
- ``SegmentRecorder``: stream copy into fragmented MP4 segments;
  ``salvage_partial_segments`` keeps what a crash left in the open one.
- ``HealthMonitor``: open problems per camera, with a hook for image checks.
- ``IngestWorker``: reader + recorder + health for one camera, on a bus;
  ``python -m safecity.ingest --camera-id`` runs one as a process.
- ``IngestGroup``: several cameras' workers in one process, each restarted alone if it
  fails (``python -m safecity.ingest --group``); ``IngestGroups`` places cameras in such
  processes under the shared ``WorkerSupervisor`` and follows the registry.
"""

from safecity.ingest.frames import DropOldestQueue, Frame
from safecity.ingest.health import FrameCheck, FrameProblem, HealthMonitor
from safecity.ingest.reader import CameraReader, DecodeMode, PacketSink, ReaderOptions, ReaderStats
from safecity.ingest.recorder import RecorderStats, SegmentRecorder, SegmentTiming
from safecity.ingest.salvage import salvage_partial_segments
from safecity.ingest.worker import IngestWorker, IngestWorkerConfig

__all__ = [
    "CameraReader",
    "DecodeMode",
    "DropOldestQueue",
    "Frame",
    "FrameCheck",
    "FrameProblem",
    "HealthMonitor",
    "IngestWorker",
    "IngestWorkerConfig",
    "PacketSink",
    "ReaderOptions",
    "ReaderStats",
    "RecorderStats",
    "SegmentRecorder",
    "SegmentTiming",
    "salvage_partial_segments",
]
