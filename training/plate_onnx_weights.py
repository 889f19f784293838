"""Start training from an exported ``plate_recogniser.onnx`` when its checkpoint is gone.

The export folds every batch norm into the convolution before it (weight scaled per
channel, a bias added), so the ONNX file holds the convolutions' folded weights and
biases and the dense head as trained. Loading them into :class:`PlateRecogniser` puts
the folded weights in the convolutions and turns each batch norm into "add the folded
bias"; the network then computes exactly what the ONNX file computes (in eval mode).

Training mode normalises with batch statistics, so each batch norm is then given the
statistics of its input measured on training images (running mean and variance, and the
scale and shift that undo them): a training batch normalises to nearly what the eval
network computes, instead of to zero mean and unit variance, and the first steps start
from the shipped function rather than a perturbed one.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import torch
from onnx import numpy_helper
from torch import nn

from training.plate_model import PlateRecogniser
from training.plate_widths import Widths


def _initialisers(path: Path) -> dict[str, torch.Tensor]:
    """The file's weights by the names the graph uses them under, as float32: a weight
    stored in float16 (:func:`store_weights_in_half`) is known by its Cast's output."""
    model = onnx.load(str(path))
    stored = {
        item.name: torch.from_numpy(numpy_helper.to_array(item).copy())
        for item in model.graph.initializer
    }
    for node in model.graph.node:
        if node.op_type == "Cast" and node.input[0] in stored:
            stored[node.output[0]] = stored.pop(node.input[0]).float()
    return stored


def store_weights_in_half(path: Path) -> None:
    """Rewrite the ONNX file at ``path`` with its float32 weights stored as float16, each
    followed by a Cast back to float32 under the weight's own name.

    Why: the file halves (a wider network still fits the package's 2 MB budget for the
    model) while the network computes in float32 as before; ONNX Runtime folds the casts
    into float32 constants when it loads the session, so reading costs the same. The
    weights' rounding to float16 (11 significant bits) changes the outputs by far less
    than the network's own errors; the export's validation figures are measured on the
    rewritten file."""
    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for item in graph.initializer:
        if item.data_type != onnx.TensorProto.FLOAT:
            continue
        name = item.name
        half = numpy_helper.from_array(
            numpy_helper.to_array(item).astype("float16"), f"{name}.half"
        )
        item.CopyFrom(half)
        casts.append(
            onnx.helper.make_node(
                "Cast", [f"{name}.half"], [name], name=f"{name}.cast", to=onnx.TensorProto.FLOAT
            )
        )
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _conv_inputs(model: onnx.ModelProto) -> list[tuple[str, str]]:
    """(weight, bias) initialiser names of each Conv node, in graph order."""
    pairs = []
    for node in model.graph.node:
        if node.op_type == "Conv":
            if len(node.input) != 3:
                raise ValueError(
                    f"Conv node {node.name} has no folded bias: not a BN-folded export"
                )
            pairs.append((node.input[1], node.input[2]))
    return pairs


def onnx_widths(path: Path) -> Widths:
    """The widths of the network exported to ``path``, read from its weights' shapes."""
    graph = onnx.load(str(path))
    weights = _initialisers(path)
    channels = [int(weights[weight].shape[0]) for weight, _ in _conv_inputs(graph)]
    if len(channels) != 7:
        raise ValueError(f"{path}: {len(channels)} convolutions, the network has 7")
    stem, c1, c2, c3, c4, c5, reduced = channels
    hidden = int(weights["head.2.weight"].shape[0])
    return Widths(stem, (c1, c2, c3, c4, c5), reduced, hidden)


def load_onnx_weights(model: PlateRecogniser, path: Path, samples: torch.Tensor) -> PlateRecogniser:
    """``model`` with the weights of the exported file at ``path`` and batch-norm
    statistics measured on ``samples`` (N, 1, H, W grey training images)."""
    graph = onnx.load(str(path))
    weights = _initialisers(path)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.features if isinstance(m, nn.BatchNorm2d)]
    pairs = _conv_inputs(graph)
    if not (len(convs) == len(norms) == len(pairs)):
        raise ValueError(
            f"{path}: {len(pairs)} convolutions in the file, {len(convs)} in the network"
        )
    with torch.no_grad():
        for conv, norm, (weight_name, bias_name) in zip(convs, norms, pairs, strict=True):
            weight = weights[weight_name]
            if weight.shape != conv.weight.shape:
                raise ValueError(
                    f"{path}: {weight_name} is {tuple(weight.shape)}, not "
                    f"{tuple(conv.weight.shape)}"
                )
            conv.weight.copy_(weight)
            mean, var = _running_stats(norm)
            mean.zero_()
            var.fill_(1.0 - norm.eps)
            norm.weight.fill_(1.0)
            norm.bias.copy_(weights[bias_name])
        for name, parameter in model.head.named_parameters():
            parameter.copy_(weights[f"head.{name}"])
        _measure_batch_norms(model, convs, norms, samples)
    return model


def _running_stats(norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    if norm.running_mean is None or norm.running_var is None:
        raise ValueError("the network's batch norms must track running statistics")
    return norm.running_mean, norm.running_var


def _measure_batch_norms(
    model: PlateRecogniser,
    convs: list[nn.Conv2d],
    norms: list[nn.BatchNorm2d],
    samples: torch.Tensor,
) -> None:
    """Give each batch norm the mean and variance of its input over ``samples`` while
    keeping the eval-mode function: y = gamma (x - mean) / sqrt(var + eps) + beta with
    gamma = sqrt(var + eps) and beta = bias + mean is still x + bias."""
    seen: dict[int, list[torch.Tensor]] = {index: [] for index in range(len(convs))}
    hooks = [
        conv.register_forward_hook(
            lambda _m, _i, out, index=index: seen[index].append(out.detach())
        )
        for index, conv in enumerate(convs)
    ]
    model.eval()
    try:
        for start in range(0, len(samples), 256):
            model.logits(samples[start : start + 256].float())
    finally:
        for hook in hooks:
            hook.remove()
    for index, norm in enumerate(norms):
        outputs = torch.cat(seen[index])
        mean = outputs.mean(dim=(0, 2, 3))
        var = outputs.var(dim=(0, 2, 3))
        running_mean, running_var = _running_stats(norm)
        running_mean.copy_(mean)
        running_var.copy_(var)
        norm.weight.copy_(torch.sqrt(var + norm.eps))
        norm.bias.add_(mean)
    model.train()
