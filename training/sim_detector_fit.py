"""Training and ONNX writing of the simulated-vehicle detector: the part of
:mod:`training.train_sim_detector` that needs PyTorch and onnx (requirements/train.txt).

The script imports this module only when it trains or exports, so its commands, their
options and the export's destination and manifest are read without PyTorch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch.nn import functional

from training.sim_detector_data import CLASSES, INPUT_HEIGHT, INPUT_WIDTH, training_cities
from training.sim_detector_model import STRIDE, ExportedDetector, SimVehicleDetector, grid_points

CENTRE_RADIUS_CELLS = 1.5


def assign(
    boxes: npt.NDArray[np.float32], classes: npt.NDArray[np.int64], points: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Per grid point: the class of the box it learns (-1 background) and that box (xyxy).

    A point learns a box when it lies inside it and near its centre (within 1.5 cells or
    a third of the box's size), and the point nearest the centre always does, so even a
    box smaller than a cell has one. Where boxes overlap, the smaller one wins.
    """
    count = len(points)
    target_class = np.full(count, -1, np.int64)
    target_box = np.zeros((count, 4), np.float32)
    if not len(boxes):
        return target_class, target_box
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    best_area = np.full(count, np.inf, np.float32)
    for index in np.argsort(-area):  # larger first, smaller overwrite
        x0, y0, x1, y1 = boxes[index]
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        reach_x = max(CENTRE_RADIUS_CELLS * STRIDE, (x1 - x0) / 3)
        reach_y = max(CENTRE_RADIUS_CELLS * STRIDE, (y1 - y0) / 3)
        px, py = points[:, 0], points[:, 1]
        inside = (px > x0) & (px < x1) & (py > y0) & (py < y1)
        near = (np.abs(px - cx) <= reach_x) & (np.abs(py - cy) <= reach_y)
        chosen = inside & near
        chosen[int(np.argmin((px - cx) ** 2 + (py - cy) ** 2))] = True
        chosen &= area[index] <= best_area
        target_class[chosen] = classes[index]
        target_box[chosen] = boxes[index]
        best_area[chosen] = area[index]
    return target_class, target_box


def _load(
    folder: Path,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    points = grid_points(INPUT_HEIGHT, INPUT_WIDTH).numpy()
    images, target_classes, target_boxes = [], [], []
    for seed, *_ in training_cities():
        with np.load(folder / f"city-{seed}.npz") as data:
            owners = data["owners"]
            for number in range(len(data["images"])):
                mine = owners == number
                cls, box = assign(data["boxes"][mine], data["classes"][mine], points)
                target_classes.append(cls)
                target_boxes.append(box)
            images.append(data["images"])
    return np.concatenate(images), np.stack(target_classes), np.stack(target_boxes)


def giou_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - generalised IoU of xyxy pairs (N, 4)."""
    left_top = torch.max(predicted[:, :2], target[:, :2])
    right_bottom = torch.min(predicted[:, 2:], target[:, 2:])
    overlap = (right_bottom - left_top).clamp(min=0).prod(dim=1)
    area_p = (predicted[:, 2:] - predicted[:, :2]).prod(dim=1)
    area_t = (target[:, 2:] - target[:, :2]).prod(dim=1)
    union = area_p + area_t - overlap
    iou = overlap / union.clamp(min=1e-6)
    hull = torch.max(predicted[:, 2:], target[:, 2:]) - torch.min(predicted[:, :2], target[:, :2])
    hull_area = hull.prod(dim=1).clamp(min=1e-6)
    return 1 - iou + (hull_area - union) / hull_area


def focal_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    probability = torch.sigmoid(logits)
    ce = functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = probability * targets + (1 - probability) * (1 - targets)
    alpha = 0.25 * targets + 0.75 * (1 - targets)
    return (alpha * (1 - p_t) ** 2 * ce).sum()


def _batch(
    images: npt.NDArray[np.uint8], rng: np.random.Generator, picks: npt.NDArray[np.int64]
) -> tuple[torch.Tensor, npt.NDArray[np.bool_]]:
    """Images as float tensors with brightness/contrast jitter; which ones to mirror."""
    pixels = torch.from_numpy(images[picks]).permute(0, 3, 1, 2).float() / 255.0
    gain = torch.from_numpy(rng.uniform(0.75, 1.25, (len(picks), 1, 1, 1)).astype(np.float32))
    shift = torch.from_numpy(rng.uniform(-0.08, 0.08, (len(picks), 1, 1, 1)).astype(np.float32))
    pixels = (pixels * gain + shift).clamp(0, 1)
    mirror = rng.random(len(picks)) < 0.5
    flipped = torch.from_numpy(mirror)
    pixels[flipped] = pixels[flipped].flip(-1)
    return pixels, mirror


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    images, target_classes, target_boxes = _load(Path(args.data))
    print(f"{len(images)} frames, {(target_classes >= 0).sum()} positive cells", flush=True)
    # Mirrored images mirror their grid: the same targets, read through a flipped index.
    cols, rows = INPUT_WIDTH // STRIDE, INPUT_HEIGHT // STRIDE
    mirror_index = np.arange(rows * cols).reshape(rows, cols)[:, ::-1].reshape(-1)
    model = SimVehicleDetector(len(CLASSES))
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=args.steps, pct_start=0.1
    )
    points = grid_points(INPUT_HEIGHT, INPUT_WIDTH)
    start = time.perf_counter()
    model.train()
    for step in range(args.steps):
        picks = rng.integers(0, len(images), args.batch)
        pixels, mirror = _batch(images, rng, picks)
        cls = target_classes[picks].copy()
        box = target_boxes[picks].copy()
        for row in np.flatnonzero(mirror):
            cls[row] = cls[row][mirror_index]
            flipped = box[row][mirror_index]
            box[row] = np.stack(
                [
                    INPUT_WIDTH - flipped[:, 2],
                    flipped[:, 1],
                    INPUT_WIDTH - flipped[:, 0],
                    flipped[:, 3],
                ],
                axis=1,
            )
        logits, distances = model(pixels)
        logits = logits.flatten(2).transpose(1, 2)  # (B, N, C)
        distances = distances.flatten(2).transpose(1, 2)  # (B, N, 4)
        labels = torch.from_numpy(cls)
        positive = labels >= 0
        one_hot = torch.zeros_like(logits)
        one_hot[positive] = functional.one_hot(labels[positive], len(CLASSES)).float()
        count = max(int(positive.sum()), 1)
        loss_cls = focal_loss(logits, one_hot) / count
        at = points.expand(len(picks), -1, -1)[positive]
        d = distances[positive]
        predicted = torch.cat([at - d[:, :2], at + d[:, 2:]], dim=1)
        loss_box = giou_loss(predicted, torch.from_numpy(box)[positive]).mean() if count else 0
        loss = loss_cls + 2.0 * loss_box
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(
                f"step {step}: loss {float(loss.detach()):.3f} "
                f"(cls {float(loss_cls.detach()):.3f}, "
                f"box {float(loss_box):.3f}), {time.perf_counter() - start:.0f} s",
                flush=True,
            )
    torch.save(model.state_dict(), Path(args.data) / "weights.pt")


def write_onnx(weights: Path, target: Path, *, opset: int) -> None:
    """The network of ``weights`` (a state dict) written to ``target`` (ONNX, boxes
    decoded in the YOLOv8 output layout)."""
    torch.set_num_threads(1)
    model = SimVehicleDetector(len(CLASSES))
    model.load_state_dict(torch.load(weights))
    model.eval()
    wrapped = ExportedDetector(model, INPUT_HEIGHT, INPUT_WIDTH).eval()
    sample = torch.zeros(1, 3, INPUT_HEIGHT, INPUT_WIDTH)
    torch.onnx.export(
        wrapped,
        (sample,),
        str(target),
        input_names=["images"],
        output_names=["output0"],
        opset_version=opset,
        dynamo=False,
    )
