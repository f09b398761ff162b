"""A small, plain training loop for the segmentation notebook (not an exercise: read it freely).

The notebook passes its own loss and metric functions in, so the numbers a run reports are
computed by the student's code:

    history = train_segmentation(model, train, held_out, loss_fn=my_loss,
                                 metrics_fn=lambda pred, target: {"mIoU": mean_iou(pred, target, 4)},
                                 steps=300, batch_size=32, lr=1e-2, device=DEVICE)

Training draws seeded random mini-batches, uses Adam with a one-cycle learning-rate schedule, and
evaluates on the held-out set (model in eval mode, no gradients) every `evaluate_every` steps and
after the last one. Wall-clock time counts training and evaluation, not data generation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm import tqdm

from .data import SegmentationSet

__all__ = ["History", "cpu_threads", "predict", "train_segmentation"]

log = logging.getLogger(__name__)


@dataclass
class History:
    """What a training run measured. Lists are aligned with `steps` (one entry per evaluation)."""

    steps: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall time since training started
    train_loss: list[float] = field(default_factory=list)  # mean loss over the steps since the last evaluation
    metrics: dict[str, list[float]] = field(default_factory=dict)  # held-out metrics by name
    parameters: int = 0

    def last(self, name: str) -> float:
        """The last value of a held-out metric."""
        return self.metrics[name][-1]

    def first_time_reaching(self, name: str, target: float) -> float | None:
        """Seconds until the held-out metric `name` first reached `target`, or None if it never did."""
        for seconds, value in zip(self.seconds, self.metrics.get(name, []), strict=True):
            if value >= target:
                return seconds
        return None


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class predictions (N, H, W) int64 of `model` (in eval mode) for images (N, C, H, W), by batches."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(images[i : i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])
    finally:
        model.train(was_training)


def train_segmentation(
    model: nn.Module,
    train: SegmentationSet,
    held_out: SegmentationSet,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    metrics_fn: Callable[[torch.Tensor, torch.Tensor], Mapping[str, float]],
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    evaluate_every: int = 50,
    device: torch.device | str = "cpu",
    seed: int = 0,
    threads: int | None = None,
    progress: bool = True,
) -> History:
    """Train `model` in place on `train` for `steps` mini-batches, evaluating on `held_out`.

    Args:
        model: maps images (B, C, H, W) to logits (B, K, H, W); moved to `device`.
        train, held_out: the two splits (moved to `device` for the run).
        loss_fn: (logits, target masks) -> scalar loss tensor.
        metrics_fn: (predicted masks, target masks) -> {name: float}, evaluated on `held_out`.
        steps, batch_size, lr, weight_decay: the optimisation (Adam, one-cycle schedule).
        evaluate_every: evaluate after every this many steps, and after the last step.
        device: where to compute.
        seed: seeds the order of the mini-batches (seed the weights yourself, before building the model).
        threads: PyTorch's CPU threads during the run (None: leave the setting alone). On small
            images one thread is often as fast as several, and much faster when other programs
            keep the cores busy (threads then wait for each other); the setting is restored after.
        progress: show a progress bar.

    Returns:
        A History with the held-out metrics, the mean training loss and the wall time at each
        evaluation, and the model's parameter count.
    """
    if steps < 1 or batch_size < 1 or evaluate_every < 1:
        raise ValueError(
            f"steps, batch_size and evaluate_every must be >= 1; got {steps}, {batch_size}, {evaluate_every}"
        )
    with cpu_threads(threads):
        return _train(model, train, held_out, loss_fn, metrics_fn, steps=steps, batch_size=batch_size, lr=lr,
                      weight_decay=weight_decay, evaluate_every=evaluate_every, device=torch.device(device),
                      seed=seed, progress=progress)


@contextmanager
def cpu_threads(threads: int | None):
    """Run a block with `threads` PyTorch CPU threads (None: unchanged), restoring the setting after."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _train(model, train, held_out, loss_fn, metrics_fn, *, steps, batch_size, lr, weight_decay, evaluate_every,
           device, seed, progress) -> History:
    model.to(device).train()
    train, held_out = train.to(device), held_out.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.15)
    generator = torch.Generator().manual_seed(seed)
    history = History(parameters=sum(p.numel() for p in model.parameters()))
    running, count = 0.0, 0
    start = time.perf_counter()
    bar = tqdm(range(1, steps + 1), desc=type(model).__name__, disable=not progress, leave=False, mininterval=1.0)
    for step in bar:
        index = torch.randint(0, len(train), (batch_size,), generator=generator).to(device)
        images, masks = train[index]
        loss = loss_fn(model(images), masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        running, count = running + loss.item(), count + 1
        if step % evaluate_every == 0 or step == steps:
            metrics = metrics_fn(predict(model, held_out.images), held_out.masks)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            history.steps.append(step)
            history.seconds.append(time.perf_counter() - start)
            history.train_loss.append(running / count)
            for name, value in metrics.items():
                history.metrics.setdefault(name, []).append(float(value))
            running, count = 0.0, 0
            bar.set_postfix({name: f"{value:.3f}" for name, value in metrics.items()})
            log.info("%s step %d: %s", type(model).__name__, step, dict(metrics))
    bar.close()
    model.eval()
    return history
