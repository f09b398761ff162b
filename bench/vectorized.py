"""Loop-free solutions of the segmentation notebook against the PyTorch op they re-derive and a naive loop.

    python bench/vectorized.py [--threads 1] [--repeat 5] [--notebook source/assignment2/segmentation.ipynb]

Runs the notebook's imports cell, its solution cells and its given code in a namespace (no kernel), checks every
solution, reference and loop agree on the benchmark inputs, then times each (median of `--repeat`
samples, see course.seg_plots.seconds_per_call) and prints a Markdown table in microseconds per
call. The loops are the straightforward Python versions a student might write first.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.seg_plots import seconds_per_call  # noqa: E402

NOTEBOOK = ROOT / "source" / "assignment2" / "segmentation.ipynb"


def solution_namespace(path: Path) -> dict:
    """Execute the notebook's `setup` cell, solution cells and given code (cells `*_given`); return the namespace."""
    notebook = nbformat.read(path, as_version=4)
    namespace: dict = {"__name__": "segmentation_solutions"}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        given = str(meta.get("grade_id", "")).endswith("_given")
        if cell.cell_type == "code" and (meta.get("grade_id") == "setup" or meta.get("solution") or given):
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%"))
            with contextlib.redirect_stdout(io.StringIO()) if given else contextlib.nullcontext():
                exec(compile(source, f"<{meta.get('grade_id')}>", "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace


# --- Naive loop versions ----------------------------------------------------------------------


def confusion_matrix_loop(pred, target, k, ignore_index=255):
    counts = [[0] * k for _ in range(k)]
    for t, p in zip(target.flatten().tolist(), pred.flatten().tolist(), strict=True):
        if t != ignore_index:
            counts[t][p] += 1
    return torch.tensor(counts)


def iou_per_class_loop(conf):
    k = conf.shape[0]
    rows = conf.tolist()
    out = []
    for c in range(k):
        inter = rows[c][c]
        union = sum(rows[c]) + sum(rows[i][c] for i in range(k)) - inter
        out.append(inter / union if union else float("nan"))
    return torch.tensor(out, dtype=torch.float64)


def mean_iou_loop(pred, target, k, ignore_index=255):
    ious = [v for v in iou_per_class_loop(confusion_matrix_loop(pred, target, k, ignore_index)).tolist() if v == v]
    return sum(ious) / len(ious) if ious else float("nan")


def pixel_cross_entropy_loop(logits, target, ignore_index=255):
    n, k = logits.shape[:2]
    scores = logits.movedim(1, -1).reshape(-1, k).tolist()
    total, count = 0.0, 0
    for row, t in zip(scores, target.flatten().tolist(), strict=True):
        if t != ignore_index:
            top = max(row)
            total += top + math.log(sum(math.exp(s - top) for s in row)) - row[t]
            count += 1
    return torch.tensor(total / count if count else float("nan"))


def soft_iou_loss_loop(probs, onehot, eps=1e-6):
    k = probs.shape[1]
    p = probs.movedim(1, -1).reshape(-1, k).tolist()
    y = onehot.movedim(1, -1).reshape(-1, k).tolist()
    ratios = []
    for c in range(k):
        inter = union = 0.0
        for prow, yrow in zip(p, y, strict=True):
            inter += prow[c] * yrow[c]
            union += prow[c] + yrow[c] - prow[c] * yrow[c]
        ratios.append((inter + eps) / (union + eps))
    return torch.tensor(1 - sum(ratios) / k)


def max_pool2d_with_indices_loop(x, kernel=2, stride=2):
    n, c, h, w = x.shape
    ho, wo = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    values, indices = x.new_zeros(n, c, ho, wo), torch.zeros(n, c, ho, wo, dtype=torch.int64)
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride : i * stride + kernel, j * stride : j * stride + kernel].flatten(2)
            values[:, :, i, j], where = window.max(-1)
            indices[:, :, i, j] = (i * stride + where // kernel) * w + j * stride + where % kernel
    return values, indices


def conv1d_matrix_loop(kernel, length, stride=1, padding=0):
    k = len(kernel)
    outputs = (length + 2 * padding - k) // stride + 1
    matrix = kernel.new_zeros(outputs, length + 2 * padding)
    for i in range(outputs):
        for j in range(k):
            matrix[i, i * stride + j] = kernel[j]
    return matrix


def im2col_loop(x, kernel, stride=1, padding=0):
    x = F.pad(x, (padding,) * 4)
    n, c, h, w = x.shape
    ho, wo = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    cols = x.new_zeros(n, c * kernel * kernel, ho * wo)
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride : i * stride + kernel, j * stride : j * stride + kernel]
            cols[:, :, i * wo + j] = window.flatten(1)
    return cols


def conv_transpose2d_loop(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    n, _, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    full = x.new_zeros(n, c_out, (h - 1) * stride + kh + output_padding, (w - 1) * stride + kw + output_padding)
    for i in range(h):
        for j in range(w):
            copy = torch.einsum("nc,cokl->nokl", x[:, :, i, j], weight)
            full[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw] += copy
    out = full[:, :, padding : full.shape[2] - padding, padding : full.shape[3] - padding]
    return out if bias is None else out + bias[:, None, None]


def conv_cost_loop(height, width, channels, factors=None, kernel=3):
    factors = [1] * (len(channels) - 1) if factors is None else list(factors)
    macs = activations = 0
    for c_in, c_out, f in zip(channels[:-1], channels[1:], factors, strict=True):
        pixels = (height // f) * (width // f)
        macs += pixels * kernel * kernel * c_in * c_out
        activations += pixels * c_out
    return {"macs": macs, "activations": activations}


def sliding_window_macs_loop(height, width, channels, kernel=3):
    window = 1 + (len(channels) - 1) * (kernel - 1)
    per_window = conv_cost_loop(window, window, channels, kernel=kernel)["macs"]
    total = 0
    for _ in range(height * width):
        total += per_window
    whole = conv_cost_loop(height, width, channels, kernel=kernel)["macs"]
    return {"window": window, "sliding_window": total, "fully_convolutional": whole}


def valid_tap_share_loop(size, rates, kernel=3):
    shares = []
    for rate in torch.as_tensor(rates).tolist():
        inside = 0
        for i in range(size):
            for j in range(size):
                for a in range(kernel):
                    for b in range(kernel):
                        y, x = i + (a - kernel // 2) * rate, j + (b - kernel // 2) * rate
                        inside += 0 <= y < size and 0 <= x < size
        shares.append(inside / (size * size * kernel * kernel))
    return torch.tensor(shares, dtype=torch.float64)


# --- The comparisons --------------------------------------------------------------------------


@dataclass
class Case:
    function: str
    inputs: str
    args: tuple
    reference_name: str
    reference: Callable | None
    loop: Callable


def cases() -> list[Case]:
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 4, (8, 64, 64), generator=g)
    target[torch.rand(target.shape, generator=g) < 0.1] = 255
    pred = torch.randint(0, 4, (8, 64, 64), generator=g)
    conf = torch.randint(0, 1000, (21, 21), generator=g)
    logits = torch.randn(4, 5, 32, 32, generator=g)
    ce_target = torch.randint(0, 5, (4, 32, 32), generator=g)
    ce_target[torch.rand(ce_target.shape, generator=g) < 0.1] = 255
    probs = torch.softmax(logits, 1)
    onehot = F.one_hot(torch.randint(0, 5, (4, 32, 32), generator=g), 5).permute(0, 3, 1, 2).float()
    pool_in = torch.randn(8, 16, 32, 32, generator=g)
    kernel = torch.randn(5, generator=g)
    image = torch.randn(8, 16, 24, 24, generator=g)
    t_weight, t_bias = torch.randn(16, 8, 3, 3, generator=g), torch.randn(8, generator=g)

    def bincount(p, t, k):
        return torch.bincount((t * k + p)[t != 255], minlength=k * k).reshape(k, k)

    def conv1d_of_one_hots(k, n, s, p):
        return F.conv1d(torch.eye(n)[:, None], k[None, None], stride=s, padding=p)[:, 0].T  # X without padding columns

    def counted_macs(height, width, channels, factors=None, kernel=3):
        macs, outputs = [], []

        def hook(module, inputs, output):
            macs.append(output.numel() * module.in_channels * kernel * kernel)
            outputs.append(output.numel())

        factors = [1] * (len(channels) - 1) if factors is None else factors
        with torch.device("meta"):
            x = torch.empty(1, channels[0], height, width)
            for c_in, c_out, f in zip(channels[:-1], channels[1:], factors, strict=True):
                conv = torch.nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False)
                conv.register_forward_hook(hook)
                x = conv(F.interpolate(x, size=(height // f, width // f)))
        return {"macs": sum(macs), "activations": sum(outputs)}

    def counted_tap_share(size, rates, kernel=3):
        ones = torch.ones(1, 1, size, size, dtype=torch.float64)
        weight = torch.ones(1, 1, kernel, kernel, dtype=torch.float64)
        counts = [F.conv2d(ones, weight, padding=int(r) * (kernel // 2), dilation=int(r)).mean() for r in rates]
        return torch.stack(counts) / kernel**2

    stack = [3, 64, 64, 128, 128, 256, 256, 512, 512, 256, 256, 128, 128, 64, 64]
    stack_factors = [1, 1, 2, 2, 4, 4, 8, 8, 4, 4, 2, 2, 1, 1]
    return [
        Case("conv_cost", "224 x 224, 14 layers, 64-512 channels", (224, 224, stack, stack_factors),
             "forward hooks on meta", counted_macs, conv_cost_loop),
        Case("sliding_window_macs", "224 x 224, 14 layers", (224, 224, stack), "—", None, sliding_window_macs_loop),
        Case("valid_tap_share", "28 x 28, rates 1-36", (28, torch.arange(1, 37)), "F.conv2d of ones", counted_tap_share,
             valid_tap_share_loop),
        Case("confusion_matrix", "maps (8, 64, 64), K=4", (pred, target, 4), "torch.bincount", bincount,
             confusion_matrix_loop),
        Case("iou_per_class", "confusion matrix 21x21", (conf,), "—", None, iou_per_class_loop),
        Case("mean_iou", "maps (8, 64, 64), K=4", (pred, target, 4), "—", None, mean_iou_loop),
        Case("pixel_cross_entropy", "logits (4, 5, 32, 32)", (logits, ce_target), "F.cross_entropy",
             lambda x, t: F.cross_entropy(x, t, ignore_index=255), pixel_cross_entropy_loop),
        Case("soft_iou_loss", "probs (4, 5, 32, 32)", (probs, onehot), "—", None, soft_iou_loss_loop),
        Case("max_pool2d_with_indices", "x (8, 16, 32, 32), 2x2/2", (pool_in, 2, 2), "F.max_pool2d",
             lambda x, k, s: F.max_pool2d(x, k, s, return_indices=True), max_pool2d_with_indices_loop),
        Case("conv1d_matrix", "kernel 5, L=128, s=2, p=0", (kernel, 128, 2, 0), "F.conv1d of one-hot inputs",
             conv1d_of_one_hots, conv1d_matrix_loop),
        Case("im2col", "x (8, 16, 24, 24), 3x3, p=1", (image, 3, 1, 1), "F.unfold",
             lambda x, k, s, p: F.unfold(x, k, padding=p, stride=s), im2col_loop),
        Case("conv_transpose2d", "x (8, 16, 24, 24), 8 filters 3x3, s=2, p=1, op=1", (image, t_weight, t_bias, 2, 1, 1),
             "F.conv_transpose2d", F.conv_transpose2d, conv_transpose2d_loop),
    ]


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-4, equal_nan=True)


def _times(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads (the notebook uses 1)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with contextlib.redirect_stdout(io.StringIO()):  # the imports cell prints the versions
        solutions = solution_namespace(args.notebook)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {args.threads} PyTorch thread(s), "
          f"torch {torch.__version__}; median of {args.repeat} samples, microseconds per call\n")
    print("| function | input | vectorized | PyTorch op | loop | loop / vectorized | vectorized / op |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: |")
    for case in cases():
        solution = solutions[case.function]
        result = solution(*case.args)
        if not _same(result, case.loop(*case.args)):
            raise AssertionError(f"{case.function}: the solution and the loop disagree")
        if case.reference is not None and not _same(result, case.reference(*case.args)):
            raise AssertionError(f"{case.function}: the solution and {case.reference_name} disagree")
        ours = seconds_per_call(solution, *case.args, repeat=args.repeat)
        loop = seconds_per_call(case.loop, *case.args, repeat=max(1, args.repeat // 2), min_time=0.0)
        op = seconds_per_call(case.reference, *case.args, repeat=args.repeat) if case.reference else None
        op_text = f"{case.reference_name} {1e6 * op:,.0f}" if op else case.reference_name
        ratio = _times(ours / op) if op else "—"
        print(f"| `{case.function}` | {case.inputs} | {1e6 * ours:,.0f} | {op_text} | {1e6 * loop:,.0f} | "
              f"{_times(loop / ours)} | {ratio} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
