"""Measurements and checks on whole networks: parameters, depth, state-dict layouts.

Presentation and testing aids for the architectures notebook; no exercise is solved here (MACs are
an exercise, `count_macs`, and live in the notebook).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.fx as fx
import torch.nn as nn

log = logging.getLogger(__name__)

WEIGHT_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one CPU thread (PyTorch's intra-op threads), then restore the setting.

    For tiny networks: their operations are too small to split between threads, and on a busy
    machine waiting for the second thread can make training ten times slower.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def count_params(model: nn.Module, *, batch_norm: bool = True) -> int:
    """Number of learnable parameters of `model` (works on the meta device too).

    With batch_norm=False, BatchNorm's scale and shift are left out, as most papers do.
    """
    if batch_norm:
        return int(sum(p.numel() for p in model.parameters()))
    kept = (m for m in model.modules() if not isinstance(m, nn.modules.batchnorm._BatchNorm))
    return int(sum(p.numel() for m in kept for p in m.parameters(recurse=False)))


def weight_depth(model: nn.Module) -> int:
    """Depth as the papers count it: conv and linear layers on the longest input-to-output path.

    The model is traced symbolically (torch.fx), so nothing is computed: VGG16 gives 16, ResNet-50
    50 (projection shortcuts lie on a shorter path), DenseNet-121 121, MobileNet v1 28.

    Raises:
        TypeError: if the model cannot be traced (e.g. its forward branches on tensor values).
    """
    try:
        graph = fx.symbolic_trace(model).graph
    except Exception as error:  # fx raises several kinds of errors for untraceable code
        raise TypeError(f"cannot trace {type(model).__name__} to measure its depth: {error}") from error
    modules = dict(model.named_modules())
    depth: dict[fx.Node, int] = {}
    for node in graph.nodes:
        below = max((depth[n] for n in node.all_input_nodes), default=0)
        weighted = node.op == "call_module" and isinstance(modules[node.target], WEIGHT_LAYERS)
        depth[node] = below + int(weighted)
    return max(depth.values(), default=0)


def assert_same_layout(model: nn.Module, reference: nn.Module, *, name: str, hint: str | None = None) -> None:
    """Assert `model.state_dict()` has exactly the keys of `reference`'s, with the same shapes.

    The message lists the first missing and unexpected names, so a student sees which module to
    rename (e.g. "layer1.0.downsample.0.weight is missing").
    """
    if not isinstance(model, nn.Module):
        raise AssertionError(f"{name}: expected an nn.Module, got {type(model).__name__}")
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    missing = [k for k in theirs if k not in ours]
    unexpected = [k for k in ours if k not in theirs]
    problems = []
    if missing:
        problems.append(f"{len(missing)} names missing, e.g. {', '.join(missing[:4])}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected names, e.g. {', '.join(unexpected[:4])}")
    if not problems:
        wrong = [(k, ours[k], theirs[k]) for k in theirs if ours[k] != theirs[k]]
        problems += [f"{k} has shape {a}, expected {b}" for k, a, b in wrong[:4]]
    if problems:
        message = f"{name}: the state_dict does not match {type(reference).__name__}'s: " + "; ".join(problems)
        if hint:
            message += f"\nHint: {hint}"
        raise AssertionError(message)


@torch.no_grad()
def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm layer random affine parameters and running statistics (in place).

    Freshly built networks have mean 0, variance 1, weight 1 and bias 0, which hides a swapped or
    missing normalisation in eval mode; tests call this before comparing two networks.
    """
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            shape = module.running_mean.shape
            for tensor, low, high in ((module.running_mean, -0.5, 0.5), (module.running_var, 0.5, 2.0)):
                tensor.copy_(torch.empty(shape, device="cpu").uniform_(low, high, generator=generator))
            if module.affine:
                module.weight.copy_(torch.empty(shape, device="cpu").uniform_(0.5, 1.5, generator=generator))
                module.bias.copy_(torch.empty(shape, device="cpu").uniform_(-0.2, 0.2, generator=generator))
    return model
