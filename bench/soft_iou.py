"""Which terms of the soft IoU loss suppress the rare class of segmentation.ipynb's section 7.5.

    python bench/soft_iou.py [--batch-sizes 8] [--steps 150] [--images 2000] [--losses ce,soft,...]

Rebuilds the notebook's experiment without a kernel: triangles pointing down made rare
(`make_shapes(2000, seed=1, class_weights=(1, 1, 1/6), hue_jitter=0.12)`, split 1600 / 400), the
per-pixel classifier trained from the same weights and mini-batches (Adam, one-cycle, lr 1e-2,
one CPU thread) with the notebook's `pixel_cross_entropy` plus some of the terms of its
`soft_iou_loss`, then held-out IoUs from its `confusion_matrix` and `iou_per_class`. The soft IoU
term for a set S of classes is |S| / K * soft_iou_loss(probs[:, S], onehot[:, S]) = (1 / K) *
sum over S of (1 - ratio_k), so the full loss is S = every class; "present" and "absent" pick S
anew for every batch (the classes with and without a target pixel in it), and "present, mean"
is the remedy the notebook used to suggest, 1 - mean of the present classes' ratios. Prints a
Markdown table, one row per loss and batch size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from vectorized import NOTEBOOK, solution_namespace  # noqa: E402

from course.data import CLASSES, class_frequencies, make_shapes  # noqa: E402
from course.training import predict, train_segmentation  # noqa: E402

RARE = 3  # triangles pointing down

# name -> (what the row adds to the cross entropy, the classes whose terms it keeps; None: chosen per batch)
LOSSES = {
    "ce": ("nothing", ()),
    "soft": ("soft IoU, every class (the notebook's loss)", (0, 1, 2, 3)),
    "absent": ("soft IoU terms of the classes absent from the batch", None),
    "present": ("soft IoU terms of the classes present in the batch", None),
    "present-mean": ("1 - mean soft IoU ratio of the classes present in the batch", None),
    "rare": ("soft IoU term of the rare class only", (RARE,)),
    "frequent": ("soft IoU terms of classes 0-2 (background, square, triangle up)", (0, 1, 2)),
    "background": ("soft IoU term of the background only", (0,)),
    "shapes": ("soft IoU terms of square and triangle up", (1, 2)),
}


def notebook_namespace() -> dict:
    """The notebook's solutions, plus its given PixelClassifier cell."""
    namespace = solution_namespace(NOTEBOOK)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    (cell,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "seg_conv_block"]
    exec(compile(cell.source, "<seg_conv_block>", "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace


def loss_function(name: str, ns: dict):
    """The cross entropy plus the soft IoU terms `name` keeps, built from the notebook's functions."""
    _, kept = LOSSES[name]
    k = len(CLASSES)

    def loss(logits, target):
        ce = ns["pixel_cross_entropy"](logits, target)
        if kept == ():
            return ce
        probs = logits.softmax(1)
        onehot = F.one_hot(target, k).movedim(-1, 1).to(logits.dtype)
        if kept is None:
            present = onehot.sum((0, 2, 3)) > 0
            chosen = present if name.startswith("present") else ~present
        else:
            chosen = torch.zeros(k, dtype=torch.bool, device=logits.device)
            chosen[list(kept)] = True
        if not bool(chosen.any()):
            return ce
        term = ns["soft_iou_loss"](probs[:, chosen], onehot[:, chosen])
        return ce + (term if name == "present-mean" else int(chosen.sum()) / k * term)

    return loss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="8", help="comma-separated, e.g. 8,32")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--losses", default=",".join(LOSSES), help=f"comma-separated among {', '.join(LOSSES)}")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ns = notebook_namespace()
    rare = make_shapes(args.images, size=32, seed=1, class_weights=(1.0, 1.0, 1 / 6), hue_jitter=0.12)
    train, held_out = rare.split(held_out=0.2, seed=0)
    with_rare = float((train.masks == RARE).flatten(1).any(1).double().mean())
    shares = zip(CLASSES, class_frequencies(rare.masks).tolist(), strict=True)
    print("share of the pixels per class:", ", ".join(f"{c} {s:.1%}" for c, s in shares))
    batches = ", ".join(f"{(1 - with_rare) ** int(b):.0%} at {b}" for b in args.batch_sizes.split(","))
    print(f"training images with a rare pixel: {with_rare:.1%}; batches without one, if drawn independently: {batches}")
    print(f"{args.steps} steps, one CPU thread\n")
    print("| added to the cross entropy | batch | mIoU | IoUs (background / square / triangle up / triangle down) "
          "| rare precision / recall | s |")
    print("| --- | ---: | ---: | --- | --- | ---: |")
    k = len(CLASSES)
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        for name in args.losses.split(","):
            start = time.perf_counter()
            torch.manual_seed(0)
            model = ns["PixelClassifier"](3, k)
            train_segmentation(model, train, held_out, loss_fn=loss_function(name, ns),
                               metrics_fn=lambda p, t: {}, steps=args.steps, batch_size=batch, lr=1e-2,
                               evaluate_every=args.steps, progress=False)
            conf = ns["confusion_matrix"](predict(model, held_out.images), held_out.masks, k).double()
            iou = ns["iou_per_class"](conf)
            precision, recall = conf[RARE, RARE] / conf[:, RARE].sum(), conf[RARE, RARE] / conf[RARE].sum()
            print(f"| {LOSSES[name][0]} (`{name}`) | {batch} | {float(iou.nanmean()):.3f} | "
                  f"{' / '.join(f'{v:.3f}' for v in iou.tolist())} | {float(precision):.3f} / {float(recall):.3f} | "
                  f"{time.perf_counter() - start:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
