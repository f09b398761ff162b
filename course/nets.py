"""Measurements and checks on whole networks: parameters, depth, memory kept for backward, layouts.

Presentation and testing aids for the architectures notebook; no exercise is solved here (MACs and
activations are exercises, `count_macs` and `count_activations`, and live in the notebook).
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


def saved_tensor_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes autograd keeps for the backward pass of one forward pass `model(x)`.

    Counts, once each, the storages of the tensors the forward pass saves for backward
    (`torch.autograd.graph.saved_tensors_hooks`), leaving out the model's own parameters and buffers,
    which exist whether or not one trains. Run it in train mode on real tensors (not "meta": meta
    tensors have no storage to tell apart); `x` need not require grad.
    """
    own = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    kept: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in own:
            kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(x)
    return int(sum(kept.values()))


@torch.no_grad()
def load_in_order(model: nn.Module, reference: nn.Module) -> nn.Module:
    """Copy `reference`'s state_dict into `model` tensor by tensor, in registration order (in place).

    For modules whose names are free but whose tensors must match another implementation's one to
    one (same count, same shapes, same order). Raises an AssertionError saying where they part.
    """
    ours, theirs = model.state_dict(), reference.state_dict()
    if len(ours) != len(theirs):
        raise AssertionError(f"{type(model).__name__} has {len(ours)} tensors in its state_dict, "
                             f"{type(reference).__name__} has {len(theirs)}: {list(ours)[:6]}... against "
                             f"{list(theirs)[:6]}...")
    for (name, tensor), (their_name, value) in zip(ours.items(), theirs.items(), strict=True):
        if tensor.shape != value.shape:
            raise AssertionError(f"tensor {name} has shape {tuple(tensor.shape)}, but the matching tensor "
                                 f"{their_name} has shape {tuple(value.shape)}: register the layers in order")
        tensor.copy_(value)
    return model


@torch.no_grad()
def materialize(model: nn.Module, *, device: torch.device | str = "cpu", seed: int = 0) -> nn.Module:
    """Give a model built on the meta device real tensors with seeded random values, quickly; return it.

    Weights get a zero-mean Gaussian of variance 1 / fan_in (fan_in: the elements of one output unit's
    weights), one-dimensional parameters uniform values in [-0.1, 0.1], BatchNorm layers random
    statistics and affine parameters (`randomize_batchnorm`), other buffers zeros. Much faster than the
    modules' own initialisation, for tests and measurements where any values will do; not for models
    whose buffers hold indices (Swin's relative positions, say).
    """
    model = model.to_empty(device=device)
    generator = torch.Generator().manual_seed(seed)
    for parameter in model.parameters():
        values = torch.empty(parameter.shape)
        if parameter.dim() > 1:
            values.normal_(0.0, parameter[0].numel() ** -0.5, generator=generator)
        else:
            values.uniform_(-0.1, 0.1, generator=generator)
        parameter.copy_(values)
    for buffer in model.buffers():
        buffer.zero_()
    randomize_batchnorm(model, seed=seed)
    return model
