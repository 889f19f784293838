"""Training and ONNX writing of the plate recogniser: the part of
:mod:`training.train_plate_recogniser` that needs PyTorch and onnx (requirements/train.txt).

The script imports this module only when it trains or exports, so its commands, their
options and the export's destination and manifest are read without PyTorch.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.export_records import RecogniserCheckpoint
from training.plate_model import CLASSES, PlateRecogniser, widen_from
from training.plate_onnx_weights import load_onnx_weights, onnx_widths, store_weights_in_half
from training.plate_sim_crops import is_deployment_condition
from training.plate_synth import INPUT_HEIGHT, INPUT_WIDTH, SLOTS
from training.plate_widths import ARCHITECTURES, NARROW, Widths


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


def write_onnx(
    checkpoint: Path, target: Path, *, opset: int, half_weights: bool
) -> RecogniserCheckpoint:
    """The network of ``checkpoint`` written to ``target`` (ONNX, the softmax included;
    float16 weights with ``half_weights``); what the manifest records of the checkpoint."""
    state = torch.load(checkpoint, weights_only=False)
    model = PlateRecogniser(_widths_of(state))
    model.load_state_dict(state["model"])
    model.eval()
    dummy = torch.zeros(1, 1, INPUT_HEIGHT, INPUT_WIDTH)
    torch.onnx.export(
        model,
        (dummy,),
        str(target),
        input_names=["image"],
        output_names=["slots"],
        dynamic_axes={"image": {0: "batch"}, "slots": {0: "batch"}},
        opset_version=opset,
        dynamo=False,
    )
    if half_weights:
        store_weights_in_half(target)
    render = state.get("render_validation_exact")
    return RecogniserCheckpoint(
        steps=int(state["step"]),
        validation_exact=float(state["validation_exact"]),
        render_validation_exact=None if render is None else float(render),
    )
