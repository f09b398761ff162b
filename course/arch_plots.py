"""Demonstrations and pictures for the architectures notebook (sections 1 to 6).

Presentation only: the networks built here are deliberately minimal stand-ins (no projection
shortcuts, no strides), and no exercise is solved here. While the notebook is graded
(`course.is_grading()`), the `plot_*` functions build nothing and return None: nobody sees those
figures (`show_figures` would close them undrawn), and laying them out costs a good part of a second
each.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .nets import one_thread
from .runtime import is_grading

log = logging.getLogger(__name__)


def _not_while_grading(plot: Callable) -> Callable:
    """A plot function that draws nothing (and returns None) while the notebook is graded."""

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        return None if is_grading() else plot(*args, **kwargs)

    return wrapper


class _DemoBlock(nn.Module):
    """Two 3x3 convs (optionally with BatchNorm) and a ReLU, with or without the identity shortcut."""

    def __init__(self, width: int, residual: bool, batch_norm: bool) -> None:
        super().__init__()
        self.residual = residual
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm),
            nn.BatchNorm2d(width) if batch_norm else nn.Identity(),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm),
            nn.BatchNorm2d(width) if batch_norm else nn.Identity(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return F.relu(out + x if self.residual else out)


def demo_stack(depth: int, *, residual: bool = True, batch_norm: bool = True, width: int = 16, in_channels: int = 3,
               num_classes: int = 10, block: Callable[[int], nn.Module] | None = None) -> nn.Sequential:
    """A stem conv, (depth - 2) / 2 blocks of two 3x3 convs, global pooling and a linear layer.

    `depth` counts the conv and linear layers (the way the ResNet paper counts), so it must be even.
    The blocks are plain or residual (`residual`, `batch_norm`), or made by `block(width)` when it is
    given (a pre-activation block, say); the stack then ends with BatchNorm and ReLU before the
    pooling, as pre-activation networks do. Weights use PyTorch's default initialisation.
    """
    if depth < 4 or depth % 2:
        raise ValueError(f"depth must be an even number >= 4, got {depth}")
    count = (depth - 2) // 2
    if block is None:
        body = [nn.ReLU(), *(_DemoBlock(width, residual, batch_norm) for _ in range(count))]
    else:
        body = [*(block(width) for _ in range(count)), nn.BatchNorm2d(width), nn.ReLU()]
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1),
        *body,
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, num_classes),
    )


def first_layer_gradient_norms(depths: Sequence[int], *, batch_norm: bool, kinds: Sequence[str] = ("plain", "residual"),
                               blocks: Mapping[str, Callable[[int], nn.Module]] | None = None, width: int = 16,
                               image_size: int = 16, batch: int = 16, seed: int = 0) -> dict[str, list[float]]:
    """Norm of the loss gradient at the first conv's weight, at initialisation, for each kind of stack.

    `kinds` are built-in stacks, "plain" and "residual" (with or without BatchNorm); `blocks` adds
    one stack per entry (a name and a function width -> block). For every depth, each stack is built
    from the same seed and sees the same random batch with random labels; the cross-entropy is
    back-propagated once.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, image_size, image_size, generator=generator)
    y = torch.randint(0, 10, (batch,), generator=generator)
    builtin = {"plain": {"residual": False}, "residual": {"residual": True}}
    stacks: dict[str, dict] = {kind: builtin[kind] for kind in kinds}
    stacks.update({name: {"block": factory} for name, factory in (blocks or {}).items()})
    norms: dict[str, list[float]] = {kind: [] for kind in stacks}
    with one_thread():
        for depth in depths:
            for kind, options in stacks.items():
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    net = demo_stack(depth, batch_norm=batch_norm, width=width, **options)
                F.cross_entropy(net(x), y).backward()
                norms[kind].append(float(net[0].weight.grad.norm()))
    return norms


def fit_random_labels(depths: Sequence[int], *, steps: int, width: int = 8, images: int = 256, image_size: int = 6,
                      batch: int = 32, seed: int = 0, device: torch.device | str = "cpu") -> dict[str, list[float]]:
    """Training loss curves of plain and residual stacks (with BatchNorm) fitting random labels.

    Fitting random labels of a fixed set of images is pure optimisation: a deeper network can
    represent everything a shallower one can, so its training loss should be no worse. Returns
    {"plain-8": [loss per step], "residual-8": [...], ...}.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(images, 3, image_size, image_size, generator=generator).to(device)
    y = torch.randint(0, 10, (images,), generator=generator).to(device)
    curves: dict[str, list[float]] = {}
    with one_thread():
        for depth in depths:
            for kind in ("plain", "residual"):
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    net = demo_stack(depth, residual=kind == "residual", batch_norm=True, width=width).to(device)
                optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
                order = torch.Generator().manual_seed(seed + 1)
                losses = []
                for _ in range(steps):
                    index = torch.randint(0, images, (batch,), generator=order).to(device)
                    loss = F.cross_entropy(net(x[index]), y[index])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    losses.append(loss.item())
                curves[f"{kind}-{depth}"] = losses
                log.debug("%s-%d: final loss %.3f", kind, depth, losses[-1])
    return curves


@_not_while_grading
def plot_gradient_norms(depths: Sequence[int], panels: Mapping[str, Mapping[str, Sequence[float]]]):
    """One log-scale panel per setting (e.g. without / with BatchNorm): gradient norm vs depth, one line per kind."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    styles = ("o-", "s-", "^-", "d-")
    for ax, (title, norms) in zip(axes[0], panels.items(), strict=True):
        for (kind, values), style in zip(norms.items(), styles, strict=False):
            values = np.maximum(np.asarray(values, dtype=float), 1e-30)  # 0 cannot be drawn on a log axis
            ax.semilogy(depths, values, style, label=kind)
        ax.set_xlabel("depth (conv + linear layers)")
        ax.set_ylabel("gradient norm at the first conv")
        ax.set_xticks(list(depths))
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


@_not_while_grading
def plot_loss_curves(curves: Mapping[str, Sequence[float]], *, smooth: int = 10, chance: float | None = None):
    """Training loss per step (moving average over `smooth` steps) of several networks."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, losses in curves.items():
        values = np.asarray(losses, dtype=float)
        window = max(1, min(smooth, len(values)))
        averaged = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window, len(values) + 1), averaged, "--" if name.startswith("plain") else "-", label=name)
    if chance is not None:
        ax.axhline(chance, color="0.5", linewidth=0.8, linestyle=":", label="chance (ln 10)")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"training loss ({smooth}-step average)")
    ax.legend(ncol=2, fontsize=9)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def best_probability(probs: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
    """Probability of the architecture `best` (L, D) under each of a stack of policies (T, L, D, K)."""
    best = best.to(probs.device)
    picked = probs.gather(-1, best.expand(probs.shape[0], *best.shape).unsqueeze(-1)).squeeze(-1)
    return picked.flatten(1).prod(dim=1)


@_not_while_grading
def plot_search(history: Mapping, best: torch.Tensor, choices: Sequence[Sequence[int]],
                names: Sequence[str] = ("kernel", "width"), fractions: Sequence[float] = (0.0, 0.1, 0.25, 1.0)):
    """The controller's learning: mean reward and baseline, P(best architecture), and its policy.

    `history["probs"]` holds the controller's probabilities (steps + 1, L, D, K) before training
    and after every step; the lower row shows them at a few moments (`fractions` of the run), one
    heat map per decision with the best architecture's choices framed.
    """
    probs = torch.as_tensor(history["probs"]).detach().cpu().double()
    best = torch.as_tensor(best).cpu()
    steps = len(history["reward"])
    num_layers = probs.shape[1]
    moments = np.unique(np.round(np.asarray(fractions) * steps).astype(int))
    snapshots = len(moments)
    fig = plt.figure(figsize=(12, 6.4))
    grid = fig.add_gridspec(2, 2 * snapshots, height_ratios=[1.15, 1])
    ax = fig.add_subplot(grid[0, :snapshots])
    ax.plot(np.arange(1, steps + 1), history["reward"], linewidth=0.9, label="mean reward of the batch")
    ax.plot(np.arange(1, steps + 1), history["baseline"], linewidth=1.4, label="baseline (moving average)")
    ax.set_xlabel("step")
    ax.set_ylabel("reward")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    ax = fig.add_subplot(grid[0, snapshots:])
    ax.plot(np.arange(steps + 1), best_probability(probs, best).numpy(), color="C3")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("P(best architecture)")
    ax.grid(True, alpha=0.3)
    for column, moment in enumerate(moments):
        for decision, (name, options) in enumerate(zip(names, choices, strict=True)):
            ax = fig.add_subplot(grid[1, 2 * column + decision])
            table = probs[moment, :, decision, : len(options)].numpy()
            ax.imshow(table, cmap="Blues", vmin=0, vmax=1, aspect="auto")
            for layer in range(num_layers):
                ax.add_patch(plt.Rectangle((int(best[layer, decision]) - 0.5, layer - 0.5), 1, 1, fill=False,
                                           edgecolor="C3", linewidth=1.6))
            ax.set_xticks(range(len(options)), [str(o) for o in options], fontsize=7)
            ax.set_yticks(range(num_layers), [f"L{i + 1}" for i in range(num_layers)] if decision == 0 else [],
                          fontsize=7)
            ax.set_title(f"step {moment}: {name}", fontsize=8)
    fig.suptitle("REINFORCE: the policy sharpens on the best architecture (framed in red)", fontsize=11)
    fig.tight_layout()
    return fig


def effective_field(layers: Sequence[tuple[int, int, int]], *, size: int = 41, channels: int = 8, trials: int = 8,
                    seed: int = 0) -> torch.Tensor:
    """Mean |d y / d x| of one central output unit over a size x size input: an effective receptive field.

    A stack of random convs (He-normal weights, `channels` channels, no bias) with a ReLU between
    layers, as in Luo et al.'s "random weights" experiments; each trial draws new weights and a new
    Gaussian input. The map is summed over input channels and averaged over trials.
    """
    generator = torch.Generator().manual_seed(seed)
    total = torch.zeros(size, size)
    for _ in range(trials):
        x = torch.randn(1, channels, size, size, generator=generator, requires_grad=True)
        y = x
        for index, (kernel, stride, dilation) in enumerate(layers):
            weight = torch.randn(channels, channels, kernel, kernel, generator=generator)
            y = F.conv2d(y, weight * (2 / (channels * kernel * kernel)) ** 0.5, stride=stride, dilation=dilation)
            if index < len(layers) - 1:
                y = F.relu(y)
        if y.shape[-1] < 1:
            raise ValueError(f"input size {size} is too small for this stack")
        centre = y.shape[-1] // 2
        (grad,) = torch.autograd.grad(y[0, 0, centre, centre], x)
        total += grad.abs().sum(1)[0]
    return total / trials


def spread(field: torch.Tensor) -> float:
    """Standard deviation, in pixels, of a gradient map read as a distribution over its rows."""
    weights = field.double().sum(1)
    weights = weights / weights.sum()
    rows = torch.arange(len(weights), dtype=torch.float64)
    mean = (weights * rows).sum()
    return float((weights * (rows - mean) ** 2).sum().sqrt())


@_not_while_grading
def plot_effective_fields(fields: Mapping[str, torch.Tensor], theoretical: Mapping[str, int]):
    """Heat maps of effective receptive fields, each with its theoretical receptive field framed."""
    fig, axes = plt.subplots(1, len(fields), figsize=(3.2 * len(fields), 3.5), squeeze=False)
    for ax, (title, field) in zip(axes[0], fields.items(), strict=True):
        size, extent = field.shape[-1], theoretical[title]
        ax.imshow((field / field.max()).numpy(), cmap="magma", vmin=0, vmax=1)
        corner = (size - extent) / 2 - 0.5
        ax.add_patch(plt.Rectangle((corner, corner), extent, extent, fill=False, edgecolor="C0", linewidth=1.2))
        ax.set_title(f"{title}\nstd {spread(field):.2f} px, field {extent}x{extent}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Effective receptive fields (random weights, ReLU); the blue square is the theoretical one",
                 fontsize=10)
    fig.tight_layout()
    return fig


def channel_reach(function: Callable[[torch.Tensor], torch.Tensor], channels: int) -> torch.Tensor:
    """|d output channel / d input channel| of a channel-mixing function, a (C_out, C_in) matrix.

    Evaluated on one random 1x1 input, which is enough for 1x1 convolutions and channel shuffles:
    entry [o, i] is 0 exactly when input channel i cannot reach output channel o.
    """
    x = torch.randn(1, channels, 1, 1, generator=torch.Generator().manual_seed(0))
    jacobian = torch.autograd.functional.jacobian(function, x)
    return jacobian.reshape(-1, channels).abs()


@_not_while_grading
def plot_channel_reach(maps: Mapping[str, torch.Tensor]):
    """One black-and-white map per module: which input channels (columns) reach which outputs (rows)."""
    fig, axes = plt.subplots(1, len(maps), figsize=(3.4 * len(maps), 3.6), squeeze=False)
    for ax, (title, reach) in zip(axes[0], maps.items(), strict=True):
        ax.imshow((reach > 0).float().numpy(), cmap="Greys", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("input channel")
        ax.set_ylabel("output channel")
    fig.tight_layout()
    return fig


@_not_while_grading
def plot_accuracy_vs_cost(rows: Sequence[Mapping]):
    """ImageNet top-1 accuracy against multiply-accumulates and against parameters (log x axes)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, key, label in ((axes[0], "MACs", "multiply-accumulates per 224x224 image (billions)"),
                           (axes[1], "params", "parameters (millions)")):
        scale = 1e9 if key == "MACs" else 1e6
        for index, row in enumerate(rows):
            ax.scatter(row[key] / scale, row["top1"], color=f"C{index % 10}", edgecolors="k", linewidths=0.5)
            ax.annotate(row["name"], (row[key] / scale, row["top1"]), textcoords="offset points", xytext=(5, 4),
                        fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("ImageNet top-1 accuracy (%)")
        ax.grid(True, which="both", alpha=0.25)
    fig.suptitle("Accuracy against cost (accuracies: torchvision's weights, or the paper where marked *)",
                 fontsize=10)
    fig.tight_layout()
    return fig


@_not_while_grading
def plot_mixing_costs(curves: Mapping[str, tuple[Sequence[int], Sequence[float]]], *, channels: int):
    """Multiply-accumulates of one token-mixing layer against the side of its feature map (log-log).

    `curves` maps a name to (sides, costs), each curve with the sides it is defined at.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, (sides, values) in curves.items():
        ax.loglog(np.asarray(sides), np.asarray(values, dtype=float), "o-", markersize=3, label=name)
    ax.set_xlabel("side of the feature map (tokens per row)")
    ax.set_ylabel("multiply-accumulates of one layer")
    ax.set_title(f"Mixing information across an s x s map of {channels} channels", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@_not_while_grading
def plot_dense_channels(channels: Sequence[int], *, growth_rate: int):
    """The input channels of every dense layer of a DenseNet, in order (a step plot)."""
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.step(np.arange(1, len(channels) + 1), np.asarray(channels), where="mid")
    ax.set_xlabel("dense layer (all blocks)")
    ax.set_ylabel("input channels")
    ax.set_title(f"DenseNet: channels each dense layer reads (growth rate {growth_rate})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@_not_while_grading
def plot_rewards(rewards: torch.Tensor, best: float):
    """Histogram (log counts) of the rewards of every architecture of a search space, the best marked."""
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist(torch.as_tensor(rewards).numpy(), bins=80, color="C0", log=True)
    ax.axvline(best, color="C3", linestyle="--", label="the best architecture")
    ax.set_xlabel("reward (a stand-in for validation accuracy)")
    ax.set_ylabel("architectures (log scale)")
    ax.legend()
    fig.tight_layout()
    return fig
