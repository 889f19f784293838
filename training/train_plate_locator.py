"""Render vehicle regions, train the plate locator, export it to ONNX.

Reproducible: city i of the data comes from seed TRAIN_SEED_BASE + i (its view, lighting
and frame size cycle with i), training from ``--seed`` on one thread with deterministic
kernels. See src/safecity/vision/plates/models/PLATE_LOCATOR.md.

    PYTHONPATH=. nice -n 5 .venv/bin/python -m training.train_plate_locator generate
    PYTHONPATH=. nice -n 5 .venv/bin/python -m training.train_plate_locator train
    PYTHONPATH=. .venv/bin/python -m training.train_plate_locator export

``export`` writes to build/plate-locator/export unless ``--out`` names another folder:
the shipped weights are replaced only on purpose, by ``--out src/safecity/vision/plates/models``.

``train`` and ``export`` need PyTorch and onnx (requirements/train.txt), imported only
when they run (:mod:`training.plate_locator_fit`); the rest of this module does not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from safecity.vision.plates.locator import INPUT_SIDE, MANIFEST_NAME
from training.export_option import add_out_option
from training.export_records import LocatorExport
from training.plate_locator_data import CITIES, TRAIN_SEED_BASE, city_regions, combos

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "plate-locator"
MODEL_FILE = "plate_locator.onnx"
OPSET = 17


def generate(args: argparse.Namespace) -> None:
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    settings = combos()
    for i in range(args.first, min(args.last, CITIES)):
        seed = TRAIN_SEED_BASE + i
        view, lighting, size = settings[i % len(settings)]
        path = folder / f"city-{seed}.npz"
        if path.exists():
            continue
        start = time.perf_counter()
        samples = list(
            city_regions(
                seed,
                view,
                lighting,
                size,
                cameras=args.cameras,
                duration_s=args.duration,
                every=args.every,
            )
        )
        if not samples:
            print(f"{path.name}: no regions", flush=True)
            continue
        np.savez_compressed(
            path,
            pixels=np.stack([s.pixels for s in samples]),
            quads=np.stack([s.quads for s in samples]),
            kinds=np.stack([s.kinds for s in samples]),
            own_height=np.array([s.own_height_px for s in samples], np.float32),
        )
        plates = sum(int((s.kinds == 1).sum()) for s in samples)
        print(
            f"{path.name}: {view} {lighting} {size[0]}x{size[1]}, {len(samples)} regions, "
            f"{plates} plates, {time.perf_counter() - start:.0f} s",
            flush=True,
        )


def train(args: argparse.Namespace) -> None:
    """Needs PyTorch (requirements/train.txt), imported here and nowhere else."""
    from training.plate_locator_fit import train as fit

    fit(args)


def export(args: argparse.Namespace) -> None:
    """The ONNX model and its manifest, written into ``--out``."""
    from training.plate_locator_fit import write_onnx

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / MODEL_FILE
    exported = write_onnx(Path(args.checkpoint), path, opset=OPSET)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    text = json.dumps(manifest(digest, exported, args.threshold), indent=2) + "\n"
    (out / MANIFEST_NAME).write_text(text, encoding="utf-8")
    print(f"{path}: {path.stat().st_size} bytes, sha256 {digest}")


def manifest(digest: str, exported: LocatorExport, threshold: float) -> dict[str, object]:
    """The manifest of an exported model file whose SHA-256 is ``digest``."""
    return {
        "name": "safecity plate locator",
        "file": MODEL_FILE,
        "sha256": digest,
        "input": {
            "name": "region",
            "height": INPUT_SIDE,
            "width": INPUT_SIDE,
            "channels": 1,
            "range": "grey 0-255, the vehicle region stretched to the square",
        },
        "heat": {"name": "heat", "channels": 1},
        "corners": {"name": "corners", "channels": 8},
        "stride": exported.stride,
        "threshold": threshold,
        "opset": OPSET,
        "training_steps": exported.steps,
        "training_seeds": f"{TRAIN_SEED_BASE}-{TRAIN_SEED_BASE + CITIES - 1}",
        "licence": "Apache-2.0 (the safecity project's own weights, trained on simulator "
        "renders only)",
    }


def command_line() -> argparse.ArgumentParser:
    """The commands and their options (defaults read WORK when called)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", default=str(WORK / "data"))
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("generate", help="render the training cities' vehicle regions")
    make.add_argument("--cameras", type=int, default=2)
    make.add_argument("--duration", type=float, default=30.0)
    make.add_argument("--every", type=int, default=5, help="keep every n-th frame")
    make.add_argument("--first", type=int, default=0, help="first city index")
    make.add_argument("--last", type=int, default=CITIES, help="city index to stop before")
    fit = commands.add_parser("train", help="train on the rendered regions")
    fit.add_argument("--steps", type=int, default=4000)
    fit.add_argument("--batch", type=int, default=32)
    fit.add_argument("--lr", type=float, default=3e-3)
    fit.add_argument("--seed", type=int, default=23)
    fit.add_argument("--corner-weight", type=float, default=2.0)
    fit.add_argument("--threads", type=int, default=1)
    fit.add_argument("--every", type=int, default=500, help="checkpoint every n steps")
    fit.add_argument("--threshold", type=float, default=0.5, help="validation peak threshold")
    fit.add_argument("--checkpoint", default=str(WORK / "checkpoint.pt"))
    out = commands.add_parser("export", help="write the ONNX model and its manifest")
    out.add_argument("--checkpoint", default=str(WORK / "checkpoint.pt"))
    out.add_argument("--threshold", type=float, default=0.5, help="the manifest's threshold")
    add_out_option(out, WORK, "src/safecity/vision/plates/models")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = command_line().parse_args(argv)
    {"generate": generate, "train": train, "export": export}[args.command](args)


if __name__ == "__main__":
    main()
