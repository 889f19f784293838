"""Cost of the image health checks per sample, next to the cost of reducing the frame.

Run: .venv/bin/python bench/image_health.py [--samples 200]
Prints a markdown table (median milliseconds per sample, one OpenCV thread).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from safecity.vision.image_health import CameraImageHealth, prepare_frame


def _street(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.integers(30, 220, size=(height // 20, width // 20, 3), dtype=np.uint8)
    image = cv2.resize(base, (width, height), interpolation=cv2.INTER_NEAREST)
    moving = np.random.default_rng(seed)
    x = int(moving.integers(0, width - 200))
    image[height // 2 : height // 2 + 120, x : x + 200] = (40, 40, 190)
    noise = moving.integers(0, 8, size=image.shape, dtype=np.uint8)
    return np.ascontiguousarray(np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8))


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print("| frame | reduce (ms) | observe, all checks (ms) | cameras per core at 1 sample/s |")
    print("|---|---:|---:|---:|")
    for width, height in ((1280, 720), (1920, 1080)):
        frames = [_street(width, height, seed) for seed in range(20)]
        tracker = CameraImageHealth("bench")
        t0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
        reduce, observe = [], []
        for i in range(args.samples):
            frame = frames[i % len(frames)]
            start = time.perf_counter()
            prepare_frame(frame, 320)
            reduce.append(time.perf_counter() - start)
            start = time.perf_counter()
            tracker.observe(t0 + timedelta(seconds=i), frame)
            observe.append(time.perf_counter() - start)
        per_sample = _median_ms(observe)
        print(
            f"| {width}x{height} | {_median_ms(reduce):.2f} | {per_sample:.2f} | "
            f"{1000 / per_sample:.0f} |"
        )


if __name__ == "__main__":
    main()
