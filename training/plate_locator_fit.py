"""Training and ONNX writing of the plate locator: the part of
:mod:`training.train_plate_locator` that needs PyTorch and onnx (requirements/train.txt).

The script imports this module only when it trains or exports, so its commands, their
options and the export's destination and manifest are read without PyTorch.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional

from safecity.vision.plates.locator import INPUT_SIDE
from training.export_records import LocatorExport
from training.plate_locator_data import (
    CITIES,
    IGNORE,
    PLATE,
    TRAIN_SEED_BASE,
    VALIDATION_CITIES,
)
from training.plate_locator_model import CORNER_SCALE, STRIDE, ExportedLocator, PlateLocatorNet

CELLS = INPUT_SIDE // STRIDE
_CENTRES = (np.arange(CELLS, dtype=np.float32) + 0.5) * STRIDE
_MIRROR_CORNERS = [1, 0, 3, 2]
"""Mirrored, the top-left corner becomes the top-right one, and so on."""


Arrays = dict[str, npt.NDArray[np.generic]]


def load(folder: Path, cities: range) -> Arrays:
    """The regions of the given city indices, concatenated."""
    parts: dict[str, list[npt.NDArray[np.generic]]] = {}
    for i in cities:
        path = folder / f"city-{TRAIN_SEED_BASE + i}.npz"
        if not path.exists():
            continue
        with np.load(path) as data:
            for key in ("pixels", "quads", "kinds", "own_height"):
                parts.setdefault(key, []).append(data[key])
    if not parts:
        raise SystemExit(f"no rendered cities in {folder}: run generate first")
    return {key: np.concatenate(value) for key, value in parts.items()}


def targets(
    quads: npt.NDArray[np.float32], kinds: npt.NDArray[np.int8]
) -> tuple[npt.NDArray[np.float32], ...]:
    """One region's heat target, heat weight, corner target and corner weight on the grid.

    Each plate is an elliptic Gaussian over the cells (wider for wider plates) that is
    exactly 1 at its centre's cell; the cells near a centre learn its corners. Cells near
    an "ignore" plate (cut by the region's edge, half hidden, too small) are left out of
    the heat loss: they are neither plate nor background."""
    heat = np.zeros((CELLS, CELLS), np.float32)
    heat_weight = np.ones((CELLS, CELLS), np.float32)
    corners = np.zeros((8, CELLS, CELLS), np.float32)
    corner_weight = np.zeros((CELLS, CELLS), np.float32)
    gx, gy = np.meshgrid(_CENTRES, _CENTRES)
    for quad, kind in zip(quads, kinds, strict=True):
        if kind == 0:
            continue
        cx, cy = quad.mean(axis=0)
        width, height = np.ptp(quad[:, 0]), np.ptp(quad[:, 1])
        sx = max(0.6 * STRIDE, width / 6)
        sy = max(0.6 * STRIDE, height / 3)
        bump = np.exp(-(((gx - cx) / sx) ** 2 + ((gy - cy) / sy) ** 2) / 2)
        col = int(np.clip(cx // STRIDE, 0, CELLS - 1))
        row = int(np.clip(cy // STRIDE, 0, CELLS - 1))
        if kind == IGNORE:
            heat_weight[bump > 0.1] = 0.0
            continue
        bump[row, col] = 1.0
        heat = np.maximum(heat, bump)
        learn = (bump >= 0.4) & (bump > corner_weight)
        offsets = (quad[np.newaxis, np.newaxis] - np.stack([gx, gy], -1)[:, :, np.newaxis]) / (
            CORNER_SCALE
        )
        corners[:, learn] = offsets[learn].reshape(-1, 8).T
        corner_weight[learn] = bump[learn]
    heat_weight[heat > 0] = 1.0
    return heat, heat_weight, corners, corner_weight


def _augment(
    pixels: npt.NDArray[np.uint8], quads: npt.NDArray[np.float32], rng: np.random.Generator
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Mirror, light, blur, lost resolution and sensor noise, as other cameras would give."""
    image = pixels.astype(np.float32)
    quads = quads.copy()
    if rng.random() < 0.5:
        image = image[:, ::-1]
        quads[..., 0] = INPUT_SIDE - quads[..., 0]
        quads = quads[:, _MIRROR_CORNERS]
    if rng.random() < 0.3:
        side = int(rng.integers(40, INPUT_SIDE))
        small = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
        resized = cv2.resize(small, (INPUT_SIDE, INPUT_SIDE), interpolation=cv2.INTER_LINEAR)
        image = np.asarray(resized, np.float32)
    if rng.random() < 0.2:
        blurred = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.5, 1.5)))
        image = np.asarray(blurred, np.float32)
    image = image * rng.uniform(0.6, 1.4) + rng.uniform(-30, 30)
    if rng.random() < 0.5:
        # The noise is float64 and so is the sum until the cast, as the shipped model saw it.
        noisy = image + rng.normal(0, rng.uniform(1, 8), image.shape)
        return np.clip(noisy, 0, 255).astype(np.float32), quads
    return np.clip(image, 0, 255).astype(np.float32), quads


def heat_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """CenterNet's focal loss: peaks pulled to 1, the rest pushed down less near a peak."""
    probability = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    peak = target >= 1.0
    positive = -((1 - probability) ** 2) * torch.log(probability)
    negative = -((1 - target) ** 4) * probability**2 * torch.log(1 - probability)
    loss = torch.where(peak, positive, negative) * weight
    return loss.sum() / max(int(peak.sum()), 1)


def _batch(
    data: Arrays, picks: npt.NDArray[np.int64], rng: np.random.Generator, augment: bool
) -> tuple[torch.Tensor, ...]:
    images, heats, heat_weights, corners, corner_weights = [], [], [], [], []
    for index in picks:
        quads = data["quads"][index].astype(np.float32)
        pixels = data["pixels"][index]
        if augment:
            image, quads = _augment(pixels, quads, rng)
        else:
            image = pixels.astype(np.float32)
        heat, heat_weight, corner, corner_weight = targets(quads, data["kinds"][index])
        images.append(image)
        heats.append(heat)
        heat_weights.append(heat_weight)
        corners.append(corner)
        corner_weights.append(corner_weight)
    return (
        torch.from_numpy(np.stack(images)[:, np.newaxis]),
        torch.from_numpy(np.stack(heats)[:, np.newaxis]),
        torch.from_numpy(np.stack(heat_weights)[:, np.newaxis]),
        torch.from_numpy(np.stack(corners)),
        torch.from_numpy(np.stack(corner_weights)[:, np.newaxis]),
    )


def _losses(model: PlateLocatorNet, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    pixels, heat, heat_weight, corners, corner_weight = batch
    logits, offsets = model(pixels)
    loss_heat = heat_loss(logits, heat, heat_weight)
    per_cell = functional.smooth_l1_loss(offsets, corners, reduction="none", beta=0.1)
    loss_corners = (per_cell * corner_weight).sum() / corner_weight.sum().clamp(min=1.0) / 8
    return loss_heat, loss_corners


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    folder = Path(args.data)
    data = load(folder, range(CITIES - VALIDATION_CITIES))
    plates = int((data["kinds"] == PLATE).sum())
    print(f"{len(data['pixels'])} regions, {plates} plates", flush=True)
    model = PlateLocatorNet()
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=args.steps, pct_start=0.1
    )
    rng = np.random.default_rng(args.seed)
    checkpoint = Path(args.checkpoint)
    first = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        if state["args"] != _run_key(args):
            raise SystemExit(f"{checkpoint} is from a run with other arguments: {state['args']}")
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        first = state["step"]
        print(f"resumed from {checkpoint} at step {first}", flush=True)
    start = time.perf_counter()
    model.train()
    for step in range(first, args.steps):
        picks = rng.integers(0, len(data["pixels"]), args.batch)
        loss_heat, loss_corners = _losses(model, _batch(data, picks, rng, augment=True))
        loss = loss_heat + args.corner_weight * loss_corners
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(
                f"step {step}: heat {float(loss_heat.detach()):.3f}, "
                f"corners {float(loss_corners.detach()):.4f}, "
                f"{time.perf_counter() - start:.0f} s",
                flush=True,
            )
        done = step + 1
        if done % args.every == 0 or done == args.steps:
            torch.save(
                {
                    "args": _run_key(args),
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "schedule": schedule.state_dict(),
                    "rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(),
                    "step": done,
                },
                checkpoint,
            )
    model.eval()
    print(json.dumps(validate(model, folder, args.threshold)), flush=True)


def _run_key(args: argparse.Namespace) -> dict[str, object]:
    return {key: getattr(args, key) for key in ("steps", "batch", "lr", "seed", "corner_weight")}


def decode(
    heat: npt.NDArray[np.float32], corners: npt.NDArray[np.float32], threshold: float
) -> list[tuple[float, npt.NDArray[np.float32]]]:
    """Peaks of one region's heat (probabilities) with their quads in input pixels, as
    the runtime decodes them (:mod:`safecity.vision.plates.locator`)."""
    widest = cv2.dilate(heat, np.ones((3, 3), np.uint8))
    rows, cols = np.nonzero((heat >= threshold) & (heat >= widest))
    found = []
    for row, col in zip(rows, cols, strict=True):
        centre = np.array([_CENTRES[col], _CENTRES[row]], np.float32)
        found.append((float(heat[row, col]), corners[:, row, col].reshape(4, 2) + centre))
    return sorted(found, key=lambda item: -item[0])


def box_iou(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """IoU of the axis-aligned bounds of two quads."""
    ax0, ay0 = a.min(axis=0)
    ax1, ay1 = a.max(axis=0)
    bx0, by0 = b.min(axis=0)
    bx1, by1 = b.max(axis=0)
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return float(inter / union) if union > 0 else 0.0


def validate(model: PlateLocatorNet, folder: Path, threshold: float) -> dict[str, float]:
    """On the held-out cities: share of plates found (IoU >= 0.5 with a located quad's box)
    and located plates that match no plate (IoU < 0.3 with every plate, ignored ones too)."""
    data = load(folder, range(CITIES - VALIDATION_CITIES, CITIES))
    plates = found = false = regions_without = false_without = 0
    with torch.no_grad():
        for begin in range(0, len(data["pixels"]), 256):
            pixels = torch.from_numpy(
                data["pixels"][begin : begin + 256].astype(np.float32)[:, np.newaxis]
            )
            heat, corners = ExportedLocator(model)(pixels)
            for offset in range(len(pixels)):
                index = begin + offset
                kinds, quads = data["kinds"][index], data["quads"][index]
                located = decode(heat[offset, 0].numpy(), corners[offset].numpy(), threshold)
                truth = [quads[i] for i in range(len(kinds)) if kinds[i] == PLATE]
                known = [quads[i] for i in range(len(kinds)) if kinds[i] != 0]
                plates += len(truth)
                found += sum(any(box_iou(q, t) >= 0.5 for _, q in located) for t in truth)
                stray = sum(all(box_iou(q, k) < 0.3 for k in known) for _, q in located)
                false += stray
                if not known:
                    regions_without += 1
                    false_without += int(stray > 0)
    return {
        "regions": len(data["pixels"]),
        "plates": plates,
        "found_iou50": round(found / max(plates, 1), 4),
        "stray_locations": false,
        "regions_without_plate": regions_without,
        "of_which_with_a_stray": false_without,
    }


def write_onnx(checkpoint: Path, target: Path, *, opset: int) -> LocatorExport:
    """The network of ``checkpoint`` written to ``target`` (ONNX, heat as probabilities
    and corners in input pixels); what the manifest records of it."""
    torch.set_num_threads(1)
    state = torch.load(checkpoint, weights_only=False)
    model = PlateLocatorNet()
    model.load_state_dict(state["model"])
    model.eval()
    sample = torch.zeros(1, 1, INPUT_SIDE, INPUT_SIDE)
    torch.onnx.export(
        ExportedLocator(model).eval(),
        (sample,),
        str(target),
        input_names=["region"],
        output_names=["heat", "corners"],
        dynamic_axes={"region": {0: "batch"}, "heat": {0: "batch"}, "corners": {0: "batch"}},
        opset_version=opset,
        dynamo=False,
    )
    return LocatorExport(steps=int(state["step"]), stride=STRIDE)
