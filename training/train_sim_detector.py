"""Render training frames, train the simulated-vehicle detector, export it to ONNX.

Reproducible: each city of the data comes from its own seed (TRAIN_SEED_BASE + i),
training from ``--seed``, on one thread with deterministic kernels; the same commands
give the same files on the same CPU build of PyTorch. See
src/safecity/vision/detectors/models/MODEL_CARD.md.

    nice -n 5 .venv/bin/python -m training.train_sim_detector generate
    nice -n 5 .venv/bin/python -m training.train_sim_detector train --steps 3000
    .venv/bin/python -m training.train_sim_detector export

``export`` writes to build/sim-detector/export unless ``--out`` names another folder:
the shipped weights are replaced only on purpose, by ``--out src/safecity/vision/detectors/models``.

``train`` and ``export`` need PyTorch and onnx (requirements/train.txt), imported only
when they run (:mod:`training.sim_detector_fit`); the rest of this module does not.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.export_option import add_out_option
from training.sim_detector_data import (
    CLASSES,
    INPUT_HEIGHT,
    INPUT_WIDTH,
    compress,
    rendered_frames,
    to_input,
    training_cities,
)

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "sim-detector"
MODEL_NAME = "sim-vehicles"
OPSET = 17


def generate(args: argparse.Namespace) -> None:
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    for seed, view, lighting, size in training_cities():
        path = folder / f"city-{seed}.npz"
        if path.exists():
            continue
        start = time.perf_counter()
        rng = np.random.default_rng(seed)
        images, boxes, classes, owners = [], [], [], []
        for number, frame in enumerate(
            rendered_frames(
                seed,
                view,
                lighting,
                size,
                cameras=args.cameras,
                duration_s=args.duration,
                every=args.every,
            )
        ):
            source = frame.image
            if rng.random() < 0.5:
                source = compress(source, int(rng.integers(35, 90)))
            pixels, placed = to_input(source, frame.boxes)
            images.append(pixels)
            boxes.append(placed)
            classes.append(frame.classes)
            owners.append(np.full(len(placed), number, np.int64))
        np.savez_compressed(
            path,
            images=np.stack(images),
            boxes=np.concatenate(boxes),
            classes=np.concatenate(classes),
            owners=np.concatenate(owners),
        )
        print(
            f"{path.name}: {view} {lighting} {size[0]}x{size[1]}, {len(images)} frames, "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )


def train(args: argparse.Namespace) -> None:
    """Needs PyTorch (requirements/train.txt), imported here and nowhere else."""
    from training.sim_detector_fit import train as fit

    fit(args)


def export(args: argparse.Namespace) -> None:
    """The ONNX model and its manifest, written into ``--out``."""
    from training.sim_detector_fit import write_onnx

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{MODEL_NAME}.onnx"
    write_onnx(Path(args.data) / "weights.pt", path, opset=OPSET)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    text = manifest(path.name, digest, args.confidence)
    (out / f"{MODEL_NAME}.yaml").write_text(text, encoding="utf-8")
    print(f"{path}: {path.stat().st_size} bytes, sha256 {digest}")


def manifest(file_name: str, digest: str, confidence: float) -> str:
    """The manifest (YAML) of the exported model file ``file_name``, SHA-256 ``digest``."""
    classes = ", ".join(CLASSES)
    return (
        "# The simulated-vehicle detector (MODEL_CARD.md): simulator renders only, not for\n"
        "# real footage. Written by python -m training.train_sim_detector export\n"
        "# --out src/safecity/vision/detectors/models.\n"
        "backend: onnx_yolo\n"
        f"file: {file_name}\n"
        f"sha256: {digest}\n"
        f"input_width: {INPUT_WIDTH}\n"
        f"input_height: {INPUT_HEIGHT}\n"
        "layout: yolov8\n"
        f"classes: [{classes}]\n"
        "licence: Apache-2.0 (safecity; trained on safecity's own simulator renders)\n"
        f"confidence_threshold: {confidence}\n"
        "nms_threshold: 0.45\n"
    )


def command_line() -> argparse.ArgumentParser:
    """The commands and their options (defaults read WORK when called)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(WORK))
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("generate", help="render the training cities")
    make.add_argument("--cameras", type=int, default=4)
    make.add_argument("--duration", type=float, default=60.0)
    make.add_argument("--every", type=int, default=10, help="keep every n-th frame")
    fit = commands.add_parser("train", help="train from the rendered cities")
    fit.add_argument("--steps", type=int, default=3000)
    fit.add_argument("--batch", type=int, default=16)
    fit.add_argument("--lr", type=float, default=3e-3)
    fit.add_argument("--seed", type=int, default=1)
    out = commands.add_parser("export", help="write the ONNX model and its manifest")
    out.add_argument("--confidence", type=float, default=0.35, help="the manifest's threshold")
    add_out_option(out, WORK, "src/safecity/vision/detectors/models")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = command_line().parse_args(argv)
    {"generate": generate, "train": train, "export": export}[args.command](args)


if __name__ == "__main__":
    main()
