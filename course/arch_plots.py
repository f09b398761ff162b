"""Demonstrations and pictures for the architectures notebook (sections 2 to 6).

Presentation only: the networks built here are deliberately minimal stand-ins (no projection
shortcuts, no strides), and no exercise is solved here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .nets import one_thread

log = logging.getLogger(__name__)


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


def demo_stack(depth: int, *, residual: bool, batch_norm: bool, width: int = 16, in_channels: int = 3,
               num_classes: int = 10) -> nn.Sequential:
    """A stem conv, (depth - 2) / 2 blocks of two 3x3 convs, global pooling and a linear layer.

    `depth` counts the conv and linear layers (the way the ResNet paper counts), so it must be even.
    Weights use PyTorch's default initialisation.
    """
    if depth < 4 or depth % 2:
        raise ValueError(f"depth must be an even number >= 4, got {depth}")
    blocks = [_DemoBlock(width, residual, batch_norm) for _ in range((depth - 2) // 2)]
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1),
        nn.ReLU(),
        *blocks,
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, num_classes),
    )


def first_layer_gradient_norms(depths: Sequence[int], *, batch_norm: bool, width: int = 16, image_size: int = 16,
                               batch: int = 16, seed: int = 0) -> dict[str, list[float]]:
    """Norm of the loss gradient at the first conv's weight, at initialisation, plain vs residual.

    For every depth, a plain and a residual stack (same seed, same weights) see the same random
    batch with random labels; the cross-entropy is back-propagated once.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, image_size, image_size, generator=generator)
    y = torch.randint(0, 10, (batch,), generator=generator)
    norms: dict[str, list[float]] = {"plain": [], "residual": []}
    with one_thread():
        for depth in depths:
            for kind in norms:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    net = demo_stack(depth, residual=kind == "residual", batch_norm=batch_norm, width=width)
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


def plot_gradient_norms(depths: Sequence[int], panels: Mapping[str, Mapping[str, Sequence[float]]]):
    """One log-scale panel per setting (e.g. without / with BatchNorm): gradient norm vs depth."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    for ax, (title, norms) in zip(axes[0], panels.items(), strict=True):
        for kind, style in (("plain", "o-"), ("residual", "s-")):
            values = np.maximum(np.asarray(norms[kind], dtype=float), 1e-30)  # 0 cannot be drawn on a log axis
            ax.semilogy(depths, values, style, label=kind)
        ax.set_xlabel("depth (conv + linear layers)")
        ax.set_ylabel("gradient norm at the first conv")
        ax.set_xticks(list(depths))
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


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


def plot_family(rows: Sequence[Mapping]):
    """MACs vs parameters (log-log) of several networks; a bubble's area grows with the depth."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    params = np.array([r["params"] for r in rows], dtype=float)
    macs = np.array([r["MACs"] for r in rows], dtype=float)
    depth = np.array([r["depth"] for r in rows], dtype=float)
    ax.scatter(params / 1e6, macs / 1e9, s=12 * depth, alpha=0.45, c=np.log(depth), cmap="viridis",
               edgecolors="k", linewidths=0.6)
    # Neighbours along the x axis get their labels above and below alternately, so that they do not overlap.
    for rank, index in enumerate(np.argsort(params)):
        row = rows[index]
        ax.annotate(f"{row['name']} ({row['depth']})", (params[index] / 1e6, macs[index] / 1e9),
                    textcoords="offset points", xytext=(7, 6 if rank % 2 == 0 else -13), fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters (millions)")
    ax.set_ylabel("multiply-accumulates per 224x224 image (billions)")
    ax.set_title("Architectures by size and compute (bubble area ~ depth, in brackets)", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    fig.tight_layout()
    return fig


def best_probability(probs: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
    """Probability of the architecture `best` (L, D) under each of a stack of policies (T, L, D, K)."""
    best = best.to(probs.device)
    picked = probs.gather(-1, best.expand(probs.shape[0], *best.shape).unsqueeze(-1)).squeeze(-1)
    return picked.flatten(1).prod(dim=1)


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
