"""Contract of the shared ONNX Runtime helpers: one load under contention, retry after failure."""

from __future__ import annotations

import threading
import time

import onnxruntime
import pytest

from safecity.vision.onnx_runtime import LoadOnce, cpu_session_options


def test_many_threads_asking_at_once_open_the_model_once() -> None:
    opened: list[int] = []

    def slow_open() -> object:
        opened.append(1)
        time.sleep(0.05)  # long enough for every thread to be waiting on the first open
        return object()

    loader: LoadOnce[object] = LoadOnce(slow_open)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(loader.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 1
    assert len(results) == 8
    assert all(value is results[0] for value in results)


def test_a_failed_open_raises_and_is_tried_again() -> None:
    attempts: list[int] = []

    def flaky_open() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise FileNotFoundError("model file missing")
        return "session"

    loader: LoadOnce[str] = LoadOnce(flaky_open)
    with pytest.raises(FileNotFoundError):
        loader.get()
    assert loader.get() == "session"
    assert loader.get() == "session"
    assert len(attempts) == 2


def test_session_options_never_spin_and_take_the_thread_count() -> None:
    options = cpu_session_options(onnxruntime, 2, memory_arena=False)
    assert options.intra_op_num_threads == 2
    assert options.inter_op_num_threads == 1
    assert options.enable_cpu_mem_arena is False
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    with pytest.raises(ValueError, match="threads"):
        cpu_session_options(onnxruntime, -1)
