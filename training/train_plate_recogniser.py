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
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.export_option import add_out_option
from training.plate_model import ARCHITECTURES, CLASSES, NARROW, PlateRecogniser, Widths, widen_from
from training.plate_onnx_weights import load_onnx_weights, onnx_widths, store_weights_in_half
from training.plate_sim_crops import (
    DEPLOYMENT_SEEDS,
    TRAIN_SEEDS,
    generate_sim_chunk,
    is_deployment_condition,
)
from training.plate_synth import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, SLOTS, generate_chunk

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "plate-training"
MODEL_FILE = "plate_recogniser.onnx"
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


def _load(paths: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = [], []
    for path in paths:
        with np.load(path) as data:
            images.append(data["images"])
            labels.append(data["labels"])
    x = torch.from_numpy(np.concatenate(images)).unsqueeze(1)
    y = torch.from_numpy(np.concatenate(labels))
    return x, y


def _deployment_mask(paths: list[Path]) -> torch.Tensor:
    """Per render crop of ``paths`` (in ``_load``'s order): drawn as analytics sees the
    videos (ANPR view, 1280x720, H.264)?"""
    masks = []
    for path in paths:
        with np.load(path) as data:
            seeds = data["seed"]
        verdict = {int(seed): is_deployment_condition(int(seed)) for seed in np.unique(seeds)}
        masks.append(np.array([verdict[int(seed)] for seed in seeds], bool))
    return torch.from_numpy(np.concatenate(masks))


def _exact(model: PlateRecogniser, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(share of plates read exactly, share of slots right)."""
    model.eval()
    hits = slots = 0
    with torch.no_grad():
        for start in range(0, len(x), 512):
            predicted = model.logits(x[start : start + 512].float()).argmax(-1)
            truth = y[start : start + 512]
            hits += int((predicted == truth).all(dim=1).sum())
            slots += int((predicted == truth).sum())
    model.train()
    return hits / len(x), slots / (len(x) * SLOTS)


def _augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Cheap on-the-fly variety on top of the stored samples: small shifts and inversion
    of contrast, so an epoch never shows exactly the same pixels twice."""
    batch = batch.float()
    shift_x = int(torch.randint(-3, 4, (1,), generator=generator))
    shift_y = int(torch.randint(-2, 3, (1,), generator=generator))
    batch = torch.roll(batch, shifts=(shift_y, shift_x), dims=(2, 3))
    invert = torch.rand(batch.shape[0], generator=generator) < 0.1
    batch[invert] = 255.0 - batch[invert]
    return batch


def _synthetic_sets(
    args: argparse.Namespace,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(training, validation) synthetic plates."""
    folder = Path(args.data)
    chunks = sorted(folder.glob("chunk-*.npz"))[: args.chunks]
    if len(chunks) < args.chunks:
        raise SystemExit(f"{len(chunks)} data chunks in {folder}, {args.chunks} wanted: generate")
    return _load(chunks), _load([folder / "validation.npz"])


RenderSet = tuple[torch.Tensor, torch.Tensor, torch.Tensor]
"""Render crops: images, slot labels, and whether each is of the deployment condition."""


def _sim_sets(args: argparse.Namespace) -> tuple[RenderSet | None, RenderSet | None]:
    """(training, validation) crops from the simulator's renders, or (None, None) when the
    run uses none. The first ``--sim-validation`` chunks (seeds 932000 onwards) are held
    out for validation, so a run resumed with more chunks generated validates on the
    same crops; every ``deploy-*`` chunk trains."""
    if args.sim_share <= 0:
        return None, None
    folder = Path(args.sim_data)
    chunks = sorted(folder.glob("sim-*.npz"))
    held = args.sim_validation
    if len(chunks) <= held:
        raise SystemExit(f"{len(chunks)} render-crop chunks in {args.sim_data}: generate-sim")
    training = chunks[held:] + sorted(folder.glob("deploy-*.npz"))
    validation = chunks[:held]
    train_set = (*_load(training), _deployment_mask(training))
    return train_set, ((*_load(validation), _deployment_mask(validation)) if held else None)


def _describe(
    synthetic: int,
    renders: RenderSet | None,
    validation: int,
    render_validation: RenderSet | None,
) -> None:
    held = 0 if render_validation is None else len(render_validation[0])
    count = 0 if renders is None else len(renders[0])
    deployed = 0 if renders is None else int(renders[2].sum())
    print(
        f"{synthetic} synthetic and {count} render-crop training samples ({deployed} of "
        f"the deployment condition), {validation} synthetic and {held} render-crop "
        "validation",
        flush=True,
    )


def _batch_indices(
    synthetic: int,
    pools: tuple[torch.Tensor, torch.Tensor],
    batch: int,
    shares: tuple[float, float],
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices into the synthetic and the render-crop sets for one batch: ``shares[0]``
    of it (rounded) from the render crops, and ``shares[1]`` of those from the
    deployment-condition pool ``pools[1]`` (the rest from all render crops ``pools[0]``).
    With a deployment share of 0 the draws are those of the runs before it existed."""
    everything, deployed = pools
    from_sim = round(batch * shares[0]) if len(everything) else 0
    from_deployed = round(from_sim * shares[1]) if len(deployed) else 0
    synth = torch.randint(0, synthetic, (batch - from_sim,), generator=generator)
    sim = torch.randint(
        0, max(len(everything), 1), (from_sim - from_deployed,), generator=generator
    )
    if from_deployed:
        pick = torch.randint(0, len(deployed), (from_deployed,), generator=generator)
        sim = torch.cat([everything[sim], deployed[pick]])
    else:
        sim = everything[sim] if len(everything) else sim
    return synth, sim


def _fresh_optimiser(
    model: PlateRecogniser, args: argparse.Namespace
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.OneCycleLR]:
    """AdamW (weight decay 1e-4) on a one-cycle schedule of ``--steps`` to ``--lr``."""
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=args.steps, pct_start=args.warmup
    )
    return optimiser, schedule


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    # Denormal floats in weights and gradients slow CPU arithmetic: flushing them to zero
    # took a step at batch 64 from 0.38 s to 0.12 s in one back-to-back comparison on the
    # shipped run's checkpoint (the shipped weights were trained without this).
    torch.set_flush_denormal(True)
    _seed(args.seed)
    (x, y), (vx, vy) = _synthetic_sets(args)
    sim, sim_validation = _sim_sets(args)
    sx, sy, deployment = (
        sim if sim is not None else (x[:0], y[:0], torch.zeros(0, dtype=torch.bool))
    )
    pools = (torch.arange(len(sx)), torch.nonzero(deployment).flatten())
    _describe(len(x), sim, len(vx), sim_validation)
    widths = ARCHITECTURES[args.arch]
    model = PlateRecogniser(widths)
    optimiser, schedule = _fresh_optimiser(model, args)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.smoothing)
    generator = torch.Generator().manual_seed(args.seed)
    checkpoint = Path(args.checkpoint)
    step = _resume(checkpoint, model, optimiser, schedule, generator)
    if step == 0 and args.init_from:
        model = _init_weights(model, Path(args.init_from), x, sx, args.seed)
        # The optimiser was made for the parameters the network had before loading.
        optimiser, schedule = _fresh_optimiser(model, args)
        _report(model, 0, (vx, vy), sim_validation)
    model.train()
    started = time.perf_counter()
    running = 0.0
    stop = args.stop_at or args.steps
    anneal_from = stop - args.anneal if args.stop_at else stop
    anneal_lr = _one_cycle_lr(args, anneal_from)
    while step < stop:
        synth_index, sim_index = _batch_indices(
            len(x), pools, args.batch, (args.sim_share, args.deploy_share), generator
        )
        images = torch.cat([x[synth_index], sx[sim_index]])
        labels = torch.cat([y[synth_index], sy[sim_index]])
        batch = _augment(images, generator)
        logits = model.logits(batch)
        loss = loss_fn(logits.reshape(-1, CLASSES), labels.reshape(-1))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        step += 1
        if step >= anneal_from:
            # A run cut short (--stop-at) still ends at a learning rate of zero.
            for group in optimiser.param_groups:
                group["lr"] = anneal_lr * max(0.0, stop - step) / max(1, args.anneal)
        value = loss.item()
        running = 0.98 * running + 0.02 * value if step > 1 else value
        if step % 100 == 0:
            rate = (time.perf_counter() - started) / 100
            started = time.perf_counter()
            print(f"step {step}: loss {running:.3f}, {rate:.2f} s/step", flush=True)
        if step % args.every == 0 or step == stop:
            exact, sim_exact = _report(model, step, (vx, vy), sim_validation)
            state = _state(model, optimiser, schedule, generator, step)
            _save(
                {**state, "validation_exact": exact, "render_validation_exact": sim_exact},
                checkpoint,
            )


def _init_weights(
    model: PlateRecogniser, source: Path, x: torch.Tensor, sx: torch.Tensor, seed: int
) -> PlateRecogniser:
    """A further cycle: the weights of an earlier run (a checkpoint, or the exported ONNX
    file whose batch-norm statistics are re-measured on training images), a fresh
    optimiser and schedule. Weights of a narrower network are widened into ``model``
    (:func:`training.plate_model.widen_from`)."""
    if source.suffix == ".onnx":
        earlier = PlateRecogniser(onnx_widths(source))
        pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        load_onnx_weights(earlier, source, torch.cat([x[pick[:2048]], sx[:1024]]))
    else:
        state = torch.load(source, weights_only=False)
        earlier = PlateRecogniser(_widths_of(state))
        earlier.load_state_dict(state["model"])
    print(f"weights from {source}", flush=True)
    if earlier.widths == model.widths:
        return earlier
    print(f"widened from {earlier.widths} to {model.widths}", flush=True)
    return widen_from(model, earlier)


def _widths_of(state: dict[str, object]) -> Widths:
    """The network's widths recorded in a checkpoint (the narrow network before they were)."""
    raw = state.get("widths")
    return NARROW if raw is None else Widths.from_dict(dict(raw))  # type: ignore[call-overload]


def _state(
    model: PlateRecogniser,
    optimiser: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
    step: int,
) -> dict[str, object]:
    """What a checkpoint holds to resume the run exactly."""
    return {
        "model": model.state_dict(),
        "widths": model.widths.as_dict(),
        "optimiser": optimiser.state_dict(),
        "schedule": schedule.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "step": step,
    }


def _report(
    model: PlateRecogniser,
    step: int,
    synthetic: tuple[torch.Tensor, torch.Tensor],
    renders: RenderSet | None,
) -> tuple[float, float | None]:
    """Prints and returns the exact share on synthetic and held-out render validation."""
    exact, per_slot = _exact(model, *synthetic)
    line = f"step {step}: validation exact {exact:.3f}, per slot {per_slot:.4f}"
    sim_exact = None
    if renders is not None:
        images, labels, deployment = renders
        sim_exact, sim_slot = _exact(model, images, labels)
        line += f"; renders exact {sim_exact:.3f}, per slot {sim_slot:.4f}"
        if bool(deployment.any()):
            deployed, _ = _exact(model, images[deployment], labels[deployment])
            line += f"; deployment condition exact {deployed:.3f}"
    print(line, flush=True)
    return exact, sim_exact


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def _resume(
    checkpoint: Path,
    model: PlateRecogniser,
    optimiser: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
) -> int:
    """Load the checkpoint if there is one; the step it was written at (else 0)."""
    if not checkpoint.exists():
        return 0
    state = torch.load(checkpoint, weights_only=False)
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    schedule.load_state_dict(state["schedule"])
    generator.set_state(state["generator"])
    if "torch_rng" in state:
        torch.set_rng_state(state["torch_rng"])
    print(f"resumed at step {state['step']}", flush=True)
    return int(state["step"])


def _one_cycle_lr(args: argparse.Namespace, step: int) -> float:
    """The one-cycle schedule's learning rate after ``step`` steps."""
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        probe, max_lr=args.lr, total_steps=args.steps, pct_start=args.warmup
    )
    for _ in range(min(step, args.steps - 1)):
        probe.step()
        schedule.step()
    return float(probe.param_groups[0]["lr"])


def _save(state: dict[str, object], checkpoint: Path) -> None:
    """Write beside, then rename: an interrupted save never leaves a broken checkpoint."""
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    partial = checkpoint.with_suffix(".tmp")
    torch.save(state, partial)
    partial.replace(checkpoint)


def export(args: argparse.Namespace) -> None:
    state = torch.load(Path(args.checkpoint), weights_only=False)
    model = PlateRecogniser(_widths_of(state))
    model.load_state_dict(state["model"])
    model.eval()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / MODEL_FILE
    dummy = torch.zeros(1, 1, INPUT_HEIGHT, INPUT_WIDTH)
    torch.onnx.export(
        model,
        (dummy,),
        str(target),
        input_names=["image"],
        output_names=["slots"],
        dynamic_axes={"image": {0: "batch"}, "slots": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )
    if args.half_weights:
        store_weights_in_half(target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    manifest = {
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
        "training_steps": int(state["step"]),
        "validation_exact": round(float(state["validation_exact"]), 4),
        **(
            {"render_validation_exact": round(float(state["render_validation_exact"]), 4)}
            if state.get("render_validation_exact") is not None
            else {}
        ),
        "licence": "Apache-2.0 (the safecity project's own weights, trained on generated data)",
    }
    (out / "plate_recogniser.json").write_text(json.dumps(manifest, indent=2) + "\n")
    size = target.stat().st_size
    print(f"{target}: {size / 1e6:.2f} MB, sha256 {digest}, step {state['step']}")


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
