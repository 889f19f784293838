"""How the data plane opens ONNX Runtime sessions: CPU only, quiet, and loaded once.

Every model here shares a machine with many cameras, so a session gets the thread
count its caller asks for (one by default) and never a thread pool that spins while
idle. Models that are opened lazily (on the first read, not at import or start-up)
go through :class:`LoadOnce`, so two camera threads asking at once open the file once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

Loaded = TypeVar("Loaded")


def cpu_session_options(ort: Any, threads: int, *, memory_arena: bool = True) -> Any:
    """``SessionOptions`` for one model: ``threads`` intra-op threads (0: the runtime's choice)."""
    if threads < 0:
        raise ValueError(f"threads must be 0 (ONNX Runtime's default) or more, got {threads}")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.inter_op_num_threads = 1
    if threads > 0:
        options.intra_op_num_threads = threads
    # Inputs that change size every call would leave the arena holding the largest for good.
    options.enable_cpu_mem_arena = memory_arena
    # A spinning idle pool burns a core that other cameras need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


class LoadOnce(Generic[Loaded]):
    """The value ``opener`` returns, made on the first :meth:`get` and kept.

    After loading, ``get`` takes no lock. A failed open raises to the caller and is
    tried again on the next ``get`` (a model file put right need not wait for a restart).
    """

    def __init__(self, opener: Callable[[], Loaded]) -> None:
        self._opener = opener
        self._lock = threading.Lock()
        self._value: Loaded | None = None

    def get(self) -> Loaded:
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is None:
                self._value = self._opener()
            return self._value
