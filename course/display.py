"""Tables and pictures the notebooks show; presentation only, no exercise is solved here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from .runtime import is_grading


def show_figures() -> None:
    """Display the figures drawn so far (`plt.show()`); while the notebook is graded, close them undrawn.

    Nobody looks at the pictures of an autograded run, and rendering them takes a good part of its time.
    """
    if is_grading():
        plt.close("all")
    else:
        plt.show()


def human(count: float) -> str:
    """Round a count the way the slides do: 150528 -> '151K', 3211264 -> '3.2M', 15237608 -> '15.2M'."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(count) >= size:
            value = count / size
            return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return f"{count:g}"


def format_table(rows: Sequence[Mapping], columns: Sequence[str], *, total: Sequence[str] = ()) -> str:
    """A plain-text table of `rows` (dicts) with the given columns, and an optional TOTAL line."""

    def cell(value) -> str:
        if isinstance(value, tuple):
            return "x".join(str(v) for v in value)
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    body = [[cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(columns)]
    if total:
        totals = ["TOTAL"] + [f"{sum(row[c] for row in rows):,}" if c in total else "" for c in columns[1:]]
        widths = [max(w, len(t)) for w, t in zip(widths, totals, strict=True)]

    def line(values) -> str:
        rest = (v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True))
        return "  ".join([values[0].ljust(widths[0]), *rest])

    rule = "  ".join("-" * w for w in widths)
    lines = [line(list(columns)), rule, *(line(r) for r in body)]
    if total:
        lines += [rule, line(totals)]
    return "\n".join(lines)


def input_gradient_map(layers: Sequence[tuple[int, int, int]], size: int = 41) -> torch.Tensor:
    """How strongly each input pixel reaches the centre output unit of a conv stack.

    Every layer is a single-channel conv of ones with the given (kernel, stride, dilation), so the
    map counts the paths from each input pixel to the unit: its support is the receptive field.
    """
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = x
    for kernel, stride, dilation in layers:
        weight = torch.ones(1, 1, kernel, kernel, dtype=torch.float64)
        y = F.conv2d(y, weight, stride=stride, dilation=dilation)
    if y.shape[-1] < 1:
        raise ValueError(f"input size {size} is too small for this stack")
    centre = y.shape[-1] // 2
    y[0, 0, centre, centre].backward()
    return x.grad[0, 0]


def plot_receptive_fields(stacks: Mapping[str, Sequence[tuple[int, int, int]]], size: int = 15):
    """One heat map per conv stack: which input pixels one output unit sees, and how strongly."""
    fig, axes = plt.subplots(1, len(stacks), figsize=(3.2 * len(stacks), 3.4), squeeze=False)
    for ax, (title, layers) in zip(axes[0], stacks.items(), strict=True):
        grad = input_gradient_map(layers, size)
        rows = torch.nonzero(grad.sum(1)).flatten()
        extent = int(rows.max() - rows.min() + 1)
        ax.imshow(grad / grad.max(), cmap="magma", vmin=0, vmax=1)
        ax.set_title(f"{title}\nreceptive field {extent}x{extent}", fontsize=10)
        ax.set_xticks(torch.arange(size + 1) - 0.5, minor=True)
        ax.set_yticks(torch.arange(size + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="0.35", linewidth=0.4)
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    fig.suptitle("Input pixels that reach one output unit (brighter = more paths)", fontsize=11)
    fig.tight_layout()
    return fig
