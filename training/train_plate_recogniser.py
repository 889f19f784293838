"""Generate synthetic plate crops, train the plate recogniser, export it to ONNX.

Reproducible: every chunk of data comes from its own seed, training from ``--seed``;
the same commands give the same data and (on the same CPU build of PyTorch, with the
same thread count) the same weights. See src/safecity/vision/plates/models/MODEL_CARD.md.

    nice -n 5 .venv/bin/python -m training.train_plate_recogniser generate --chunks 24
    nice -n 5 .venv/bin/python -m training.train_plate_recogniser train --steps 6000
    .venv/bin/python -m training.train_plate_recogniser export

``export`` writes to build/plate-training/export unless ``--out`` names another folder:
the shipped weights are replaced only on purpose, by ``--out src/safecity/vision/plates/models``.

Training checkpoints every ``--every`` steps and resumes from the checkpoint when it
exists (``train`` again with the same arguments continues where it stopped).

``train`` and ``export`` need PyTorch and onnx (requirements/train.txt), imported only
when they run (:mod:`training.plate_recogniser_fit`); the rest of this module does not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

from training.export_option import add_out_option
from training.export_records import RecogniserCheckpoint
from training.plate_sim_crops import DEPLOYMENT_SEEDS, TRAIN_SEEDS, generate_sim_chunk
from training.plate_synth import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, SLOTS, generate_chunk
from training.plate_widths import ARCHITECTURES

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "plate-training"
MODEL_FILE = "plate_recogniser.onnx"
MANIFEST_NAME = "plate_recogniser.json"
TRAIN_SEED_BASE = 910_000
"""Chunk i of the training data comes from seed TRAIN_SEED_BASE + i."""
VALIDATION_SEED = 990_001
OPSET = 17


def _chunk_path(folder: Path, index: int) -> Path:
    return folder / f"chunk-{index:03d}.npz"


def generate(args: argparse.Namespace) -> None:
    folder = Path(args.data)
    jobs = [(VALIDATION_SEED, folder / "validation.npz")] if args.first == 0 else []
    jobs += [(TRAIN_SEED_BASE + i, _chunk_path(folder, i)) for i in range(args.first, args.chunks)]
    for seed, path in jobs:
        if path.exists():
            continue
        start = time.perf_counter()
        generate_chunk(seed, args.chunk_size, path)
        print(f"{path.name}: seed {seed}, {time.perf_counter() - start:.0f} s", flush=True)


SIM_SEEDS_PER_CHUNK = 10


def generate_sim(args: argparse.Namespace) -> None:
    """Crops from the simulator's renders: chunk i holds training seeds 10 i to 10 i + 9
    (``sim-*.npz``), or with ``--deployment`` the seeds rendered only as analytics sees
    them (``deploy-*.npz``)."""
    folder = Path(args.sim_data)
    seeds = list(DEPLOYMENT_SEEDS if args.deployment else TRAIN_SEEDS)
    prefix = "deploy" if args.deployment else "sim"
    for index in range(args.first, args.chunks):
        path = folder / f"{prefix}-{index:03d}.npz"
        chunk = seeds[index * SIM_SEEDS_PER_CHUNK : (index + 1) * SIM_SEEDS_PER_CHUNK]
        if path.exists() or not chunk:
            continue
        start = time.perf_counter()
        count = generate_sim_chunk(chunk, path)
        took = time.perf_counter() - start
        print(f"{path.name}: seeds {chunk[0]}-{chunk[-1]}, {count} crops, {took:.0f} s", flush=True)


def train(args: argparse.Namespace) -> None:
    """Needs PyTorch (requirements/train.txt), imported here and nowhere else."""
    from training.plate_recogniser_fit import train as fit

    fit(args)


def export(args: argparse.Namespace) -> None:
    """The ONNX model and its manifest, written into ``--out``."""
    from training.plate_recogniser_fit import write_onnx

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / MODEL_FILE
    trained = write_onnx(Path(args.checkpoint), target, opset=OPSET, half_weights=args.half_weights)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    (out / MANIFEST_NAME).write_text(json.dumps(manifest(digest, trained), indent=2) + "\n")
    size = target.stat().st_size
    print(f"{target}: {size / 1e6:.2f} MB, sha256 {digest}, step {trained.steps}")


def manifest(digest: str, trained: RecogniserCheckpoint) -> dict[str, object]:
    """The manifest of an exported model file whose SHA-256 is ``digest``."""
    return {
        "name": "safecity plate recogniser",
        "file": MODEL_FILE,
        "sha256": digest,
        "input": {
            "name": "image",
            "height": INPUT_HEIGHT,
            "width": INPUT_WIDTH,
            "channels": 1,
            "range": "grey 0-255",
        },
        "output": {"name": "slots", "slots": SLOTS, "classes": len(ALPHABET) + 1},
        "alphabet": ALPHABET,
        "pad": "_",
        "slots": SLOTS,
        "opset": OPSET,
        "training_steps": trained.steps,
        "validation_exact": round(trained.validation_exact, 4),
        **(
            {"render_validation_exact": round(trained.render_validation_exact, 4)}
            if trained.render_validation_exact is not None
            else {}
        ),
        "licence": "Apache-2.0 (the safecity project's own weights, trained on generated data)",
    }


def command_line() -> argparse.ArgumentParser:
    """The commands and their options (defaults read WORK when called)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="render the synthetic data chunks")
    gen.add_argument("--chunks", type=int, default=24)
    gen.add_argument("--first", type=int, default=0, help="first chunk (to split the work)")
    gen.add_argument("--chunk-size", type=int, default=5000)
    gen.add_argument("--data", default=str(WORK / "data"))
    sim = commands.add_parser("generate-sim", help="cut plate crops from simulator renders")
    sim.add_argument("--chunks", type=int, default=len(TRAIN_SEEDS) // SIM_SEEDS_PER_CHUNK)
    sim.add_argument("--first", type=int, default=0, help="first chunk (to split the work)")
    sim.add_argument("--sim-data", default=str(WORK / "sim"))
    sim.add_argument(
        "--deployment",
        action="store_true",
        help="render the deployment-condition seeds (ANPR view, 1280x720, H.264) instead",
    )
    fit = commands.add_parser("train", help="train (resumes from --checkpoint)")
    fit.add_argument("--chunks", type=int, default=24)
    fit.add_argument("--data", default=str(WORK / "data"))
    fit.add_argument("--steps", type=int, default=6000)
    fit.add_argument("--batch", type=int, default=128)
    fit.add_argument("--lr", type=float, default=3e-3)
    fit.add_argument("--seed", type=int, default=17)
    fit.add_argument("--threads", type=int, default=2)
    fit.add_argument("--every", type=int, default=500, help="checkpoint every N steps")
    fit.add_argument(
        "--stop-at",
        type=int,
        default=0,
        help="end the run at this step, the learning rate decaying linearly to zero over "
        "the last --anneal steps (a shorter run on the same schedule)",
    )
    fit.add_argument("--anneal", type=int, default=500)
    fit.add_argument(
        "--init-from",
        default="",
        help="start from this checkpoint's (or exported .onnx file's) weights: a new cycle",
    )
    fit.add_argument("--warmup", type=float, default=0.15, help="share of steps warming up")
    fit.add_argument("--sim-data", default=str(WORK / "sim"))
    fit.add_argument(
        "--sim-share", type=float, default=0.0, help="share of each batch from render crops"
    )
    fit.add_argument(
        "--sim-validation", type=int, default=1, help="render-crop chunks held out (the first)"
    )
    fit.add_argument(
        "--deploy-share",
        type=float,
        default=0.0,
        help="share of each batch's render crops drawn from the deployment condition "
        "(ANPR view, 1280x720, H.264) rather than from all of them",
    )
    fit.add_argument("--arch", choices=sorted(ARCHITECTURES), default="narrow")
    fit.add_argument(
        "--smoothing",
        type=float,
        default=0.05,
        help="label smoothing; a slot's best probability cannot usefully exceed "
        "1 - smoothing (36/37), so ten slots' product stays under (1 - smoothing)^10",
    )
    fit.add_argument("--checkpoint", default=str(WORK / "checkpoint.pt"))
    out = commands.add_parser("export", help="write the ONNX model and its manifest")
    out.add_argument("--checkpoint", default=str(WORK / "checkpoint.pt"))
    add_out_option(out, WORK, "src/safecity/vision/plates/models")
    out.add_argument(
        "--half-weights",
        action="store_true",
        help="store the weights as float16, cast to float32 when the session loads "
        "(half the file; the network still computes in float32)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = command_line().parse_args(argv)
    {"generate": generate, "generate-sim": generate_sim, "train": train, "export": export}[
        args.command
    ](args)


if __name__ == "__main__":
    main()
