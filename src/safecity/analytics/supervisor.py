"""The worker supervisor, shared with ingest: see ``safecity.ingest.supervisor``."""

from safecity.ingest.supervisor import STOP_SIGNALS, WorkerLaunch, WorkerSupervisor

__all__ = ["STOP_SIGNALS", "WorkerLaunch", "WorkerSupervisor"]
