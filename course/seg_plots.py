"""Pictures, tables and timings for the segmentation notebook; presentation only, no exercise is solved here.

Functions that show a student's results take those results as arguments (or a function of the
student's to call), so every figure is computed by the notebook's own code.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import ListedColormap

from .data import CLASSES
from .runtime import is_grading

__all__ = [
    "CLASS_COLOURS",
    "accuracy_by_boundary_distance",
    "boundary_distance",
    "format_boundary_accuracy",
    "format_symbolic",
    "plot_boundary_accuracy",
    "plot_curves",
    "plot_grids",
    "plot_predictions",
    "plot_reconstructions",
    "plot_shapes",
    "plot_transposed_copies",
    "plot_valid_taps",
    "seconds_per_call",
    "symbolic_combinations",
]

log = logging.getLogger(__name__)

# Background dark grey, then the classes' hues of course.data: square red, triangle up green, triangle down blue.
CLASS_COLOURS = ("#303030", "#e8453c", "#3cb44b", "#4363d8", "#f0c419", "#911eb4", "#46f0f0", "#f032e6")
IGNORE_COLOUR = "#ffffff"


def _lay_out(fig, **kwargs) -> None:
    """tight_layout, which needs a renderer; skipped while graded, when figures are closed undrawn (show_figures)."""
    if not is_grading():
        fig.tight_layout(**kwargs)


def _class_cmap(num_classes: int) -> ListedColormap:
    return ListedColormap(list(CLASS_COLOURS[:num_classes]))


def _show_mask(ax, mask: torch.Tensor, num_classes: int) -> None:
    mask = mask.detach().cpu().numpy()
    shown = np.ma.masked_where((mask < 0) | (mask >= num_classes), mask)
    ax.set_facecolor(IGNORE_COLOUR)
    ax.imshow(shown, cmap=_class_cmap(num_classes), vmin=-0.5, vmax=num_classes - 0.5, interpolation="nearest")


def _rgb(image: torch.Tensor) -> np.ndarray:
    """An image tensor (3, H, W) as an (H, W, 3) array in [0, 1] for imshow."""
    return image.detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy()


def _clean(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def plot_shapes(images: torch.Tensor, masks: torch.Tensor, classes: Sequence[str] = CLASSES, n: int = 8):
    """The first `n` images (top row) and their masks (bottom row), with a colour legend."""
    n = min(n, len(images))
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.6), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(_rgb(images[i]), interpolation="nearest")
        _show_mask(axes[1, i], masks[i], len(classes))
        _clean(axes[0, i])
        _clean(axes[1, i])
    axes[0, 0].set_ylabel("image")
    axes[1, 0].set_ylabel("mask")
    handles = [plt.Rectangle((0, 0), 1, 1, color=CLASS_COLOURS[k]) for k in range(len(classes))]
    fig.legend(handles, classes, loc="lower center", ncol=len(classes), frameon=False)
    _lay_out(fig, rect=(0, 0.08, 1, 1))
    return fig


def plot_grids(grids: Mapping[str, torch.Tensor], *, decimals: int = 0, cmap: str = "Blues"):
    """Small 2-D tensors side by side, every value written in its cell (e.g. pooling examples)."""
    fig, axes = plt.subplots(1, len(grids), figsize=(2.6 * len(grids), 2.9), squeeze=False)
    for ax, (title, grid) in zip(axes[0], grids.items(), strict=True):
        values = grid.detach().cpu().double().squeeze()
        values = values.reshape(1, -1) if values.ndim < 2 else values
        ax.imshow(values.numpy(), cmap=cmap, vmin=min(0.0, float(values.min())), vmax=max(1.0, float(values.max())))
        for (i, j), value in np.ndenumerate(values.numpy()):
            ax.text(j, i, f"{value:.{decimals}f}", ha="center", va="center", fontsize=9)
        ax.set_title(title, fontsize=10)
        _clean(ax)
    _lay_out(fig)
    return fig


def format_symbolic(matrix: torch.Tensor, symbols: Mapping[float, str]) -> str:
    """A matrix whose entries are kernel taps, written with their names: value -> symbol, 0 -> '0'."""
    rows = []
    for row in matrix.detach().cpu().tolist():
        rows.append("[ " + "  ".join(symbols.get(v, "0" if v == 0 else f"{v:g}").rjust(2) for v in row) + " ]")
    return "\n".join(rows)


def symbolic_combinations(
    transposed: Callable[..., torch.Tensor],
    input_names: Sequence[str],
    kernel_names: Sequence[str],
    stride: int,
    padding: int,
) -> list[str]:
    """Each output of a 1-D transposed convolution, as a sum of input x kernel-tap products.

    Calls `transposed(a, kernel, stride, padding)` (e.g. the notebook's `conv_transpose1d_via_matrix`)
    once per (input, tap) pair, with one-hot `a` and `kernel`, to find which products reach each
    output position.
    """
    n, k = len(input_names), len(kernel_names)
    terms: list[list[str]] = []
    for i in range(n):
        for j in range(k):
            a = torch.zeros(n, dtype=torch.float64)
            kernel = torch.zeros(k, dtype=torch.float64)
            a[i], kernel[j] = 1.0, 1.0
            out = transposed(a, kernel, stride, padding)
            if not terms:
                terms = [[] for _ in range(len(out))]
            for position in torch.nonzero(out).flatten().tolist():
                terms[position].append(f"{input_names[i]}{kernel_names[j]}")
    return [" + ".join(t) if t else "0" for t in terms]


def plot_transposed_copies(a: torch.Tensor, kernel: torch.Tensor, copies: torch.Tensor, output: torch.Tensor,
                           stride: int, padding: int):
    """The 'filter copies weighted by the input' picture of a 1-D transposed convolution.

    `copies[i]` is the output of the transposed convolution for the input that keeps only `a[i]`;
    `output` is the output for the whole input, which must be their sum.
    """
    n = len(a)
    fig, axes = plt.subplots(n + 1, 1, figsize=(6.5, 1.1 * (n + 1) + 0.6), sharex=True, squeeze=False)
    positions = np.arange(copies.shape[-1])
    for i in range(n):
        ax = axes[i, 0]
        ax.bar(positions, copies[i].detach().cpu().numpy(), color=plt.cm.tab10(i), width=0.8)
        ax.set_ylabel(f"a[{i}]={float(a[i]):g}\n x kernel", rotation=0, ha="right", va="center", fontsize=9)
    ax = axes[n, 0]
    bottom = np.zeros(copies.shape[-1])
    for i in range(n):
        values = copies[i].detach().cpu().numpy()
        ax.bar(positions, values, bottom=np.where(values >= 0, bottom, 0), color=plt.cm.tab10(i), width=0.8)
        bottom = bottom + np.clip(values, 0, None)
    ax.plot(positions, output.detach().cpu().numpy(), "k_", markersize=18, markeredgewidth=2, label="output")
    ax.set_ylabel("sum", rotation=0, ha="right", va="center", fontsize=9)
    ax.set_xticks(positions)
    ax.set_xlabel("output position")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    kernel_text = ", ".join(f"{float(v):g}" for v in kernel)
    fig.suptitle(f"Transposed convolution, kernel [{kernel_text}], stride {stride}, padding {padding}: "
                 "one copy of the kernel per input value, shifted by the stride", fontsize=9)
    _lay_out(fig)
    return fig


def plot_valid_taps(rates: torch.Tensor, shares: Mapping[str, torch.Tensor], marks: Sequence[int] = ()):
    """The share of an atrous kernel's valid taps against its rate, one line per feature-map size.

    `shares` maps a label to the shares for `rates` (e.g. the notebook's valid_tap_share); `marks` draws a dashed line
    at each of these rates (e.g. an ASPP's).
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for label, share in shares.items():
        ax.plot(rates.cpu().numpy(), share.detach().cpu().numpy(), marker=".", label=label)
    for rate in marks:
        ax.axvline(rate, color="0.5", linestyle="--", linewidth=1)
    ax.axhline(1 / 9, color="0.7", linestyle=":", linewidth=1)
    ax.text(float(rates.max()), 1 / 9, "centre tap only (1/9)", ha="right", va="bottom", fontsize=8, color="0.4")
    ax.set_xlabel("atrous rate")
    ax.set_ylabel("share of the 3x3 taps inside the map")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _lay_out(fig)
    return fig


def seconds_per_call(function: Callable, *args, repeat: int = 5, min_time: float = 0.05) -> float:
    """Median wall time of `function(*args)` in seconds (each sample runs it enough to last `min_time`)."""
    function(*args)  # warm up
    start = time.perf_counter()
    function(*args)
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(min_time / once))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function(*args)
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


# --- Training results ------------------------------------------------------------------------


def plot_curves(results: Mapping[str, object], metrics: Sequence[str] = ("mIoU",), target: float | None = None):
    """Training loss and held-out metrics against wall time for each trained model in `results`.

    `results` maps a model name to an object with a `history` (course.training.History); models not
    trained yet are simply absent. Returns None when there is nothing to plot.
    """
    if not results:
        log.warning("nothing to plot yet: train a model first")
        return None
    fig, axes = plt.subplots(1, 1 + len(metrics), figsize=(4.2 * (1 + len(metrics)), 3.3), squeeze=False)
    for name, result in results.items():
        history = result.history
        axes[0, 0].plot(history.seconds, history.train_loss, marker=".", label=name)
        for ax, metric in zip(axes[0, 1:], metrics, strict=True):
            ax.plot(history.seconds, history.metrics[metric], marker=".", label=name)
    axes[0, 0].set_title("training loss")
    for ax, metric in zip(axes[0, 1:], metrics, strict=True):
        ax.set_title(f"held-out {metric}")
        if target is not None and metric == metrics[0]:
            ax.axhline(target, color="0.5", linestyle="--", linewidth=1, label=f"target {target}")
    for ax in axes[0]:
        ax.set_xlabel("seconds of training")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _lay_out(fig)
    return fig


def plot_predictions(images: torch.Tensor, masks: torch.Tensor, predictions: Mapping[str, torch.Tensor],
                     num_classes: int, n: int = 6):
    """Images, true masks, and each model's prediction with its wrong pixels outlined in white."""
    if not predictions:
        log.warning("nothing to show yet: train a model first")
        return None
    n = min(n, len(images))
    rows = 2 + len(predictions)
    fig, axes = plt.subplots(rows, n, figsize=(1.7 * n, 1.75 * rows), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(_rgb(images[i]), interpolation="nearest")
        _show_mask(axes[1, i], masks[i], num_classes)
        for r, pred in enumerate(predictions.values(), start=2):
            _show_mask(axes[r, i], pred[i], num_classes)
            wrong = (pred[i] != masks[i]).detach().cpu().numpy()
            axes[r, i].contour(wrong, levels=[0.5], colors="white", linewidths=0.6)
        for r in range(rows):
            _clean(axes[r, i])
    for r, label in enumerate(["image", "truth", *predictions]):
        axes[r, 0].set_ylabel(label)
    _lay_out(fig)
    return fig


def plot_reconstructions(images: torch.Tensor, reconstructions: torch.Tensor | Mapping[str, torch.Tensor], n: int = 8):
    """Images (top row) and one row of reconstructions per entry of `reconstructions` (a tensor or {label: tensor})."""
    if isinstance(reconstructions, torch.Tensor):
        reconstructions = {"output": reconstructions}
    n = min(n, len(images))
    rows = 1 + len(reconstructions)
    fig, axes = plt.subplots(rows, n, figsize=(1.5 * n, 1.6 * rows), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(_rgb(images[i]), interpolation="nearest")
        for r, output in enumerate(reconstructions.values(), start=1):
            axes[r, i].imshow(_rgb(output[i]), interpolation="nearest")
        for r in range(rows):
            _clean(axes[r, i])
    for r, label in enumerate(["input", *reconstructions]):
        axes[r, 0].set_ylabel(label)
    _lay_out(fig)
    return fig


# --- Where the errors are: distance to the nearest boundary ----------------------------------------


def boundary_distance(masks: torch.Tensor, max_distance: int = 8) -> torch.Tensor:
    """Chessboard distance (in pixels) from each pixel to the nearest class boundary, capped.

    A pixel is on a boundary (distance 0) when one of its 8 neighbours has another class; pixels
    farther than `max_distance` get `max_distance`. Returns an int64 tensor shaped like `masks`.
    """
    m = masks.unsqueeze(1).double()
    high = F.max_pool2d(F.pad(m, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    low = -F.max_pool2d(F.pad(-m, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    reached = (high != low).double()
    distance = torch.full_like(masks, max_distance, dtype=torch.int64)
    for d in range(max_distance):  # grow the boundary one pixel at a time
        distance = torch.where((reached[:, 0] > 0) & (distance == max_distance), d, distance)
        reached = F.max_pool2d(F.pad(reached, (1, 1, 1, 1)), 3, stride=1)
    return distance


def accuracy_by_boundary_distance(pred: torch.Tensor, target: torch.Tensor, max_distance: int = 8):
    """Pixel accuracy among the pixels at each distance 0..max_distance from a boundary.

    Returns (distances, accuracy, share): float64 tensors, `share` the fraction of pixels at each
    distance (the last bin holds every pixel at `max_distance` or farther).
    """
    distance = boundary_distance(target, max_distance).flatten()
    correct = (pred == target).flatten().double()
    counts = torch.bincount(distance, minlength=max_distance + 1).double()
    hits = torch.bincount(distance, weights=correct, minlength=max_distance + 1)
    return torch.arange(max_distance + 1).double(), hits / counts, counts / counts.sum()


def format_boundary_accuracy(
    predictions: Mapping[str, torch.Tensor], target: torch.Tensor, max_distance: int = 6
) -> str:
    """A text table of accuracy_by_boundary_distance for each model, with the share of pixels per distance."""
    header = ["distance to boundary (px)", *map(str, range(max_distance)), f">={max_distance}"]
    rows, share = [], None
    for name, pred in predictions.items():
        _, accuracy, share = accuracy_by_boundary_distance(pred.cpu(), target.cpu(), max_distance)
        rows.append([f"{name} accuracy", *(f"{a:.3f}" for a in accuracy.tolist())])
    if share is not None:
        rows.append(["share of the pixels", *(f"{v:.3f}" for v in share.tolist())])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join([row[0].ljust(widths[0]), *(v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True))])
        for row in [header, *rows]
    )


def plot_boundary_accuracy(predictions: Mapping[str, torch.Tensor], target: torch.Tensor, max_distance: int = 6):
    """Pixel accuracy against the distance to the nearest true boundary, one line per model.

    The numbers are `format_boundary_accuracy`'s. Returns None when there is nothing to show.
    """
    if not predictions:
        log.warning("nothing to show yet: train a model first")
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for name, pred in predictions.items():
        distances, accuracy, _ = accuracy_by_boundary_distance(pred.cpu(), target.cpu(), max_distance)
        ax.plot(distances.numpy(), accuracy.numpy(), marker="o", label=name)
    ax.set_xticks(range(max_distance + 1), [*map(str, range(max_distance)), f">={max_distance}"])
    ax.set_xlabel("distance to the nearest true boundary (pixels)")
    ax.set_ylabel("pixel accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    _lay_out(fig)
    return fig
