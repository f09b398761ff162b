"""Rewards for the architecture search of the architectures notebook (section 6).

The search space: a network of `num_layers` conv layers, each with a kernel size chosen from
`kernels` and a width (output channels) chosen from `widths`. An architecture is an int64 tensor of
shape (num_layers, 2) holding option *indices*: column 0 indexes `kernels`, column 1 `widths`.
A batch of architectures has shape (n, num_layers, 2), which is what a controller samples.

Two rewards take such a batch and return one float32 reward per architecture, shape (n,):

- `RewardLandscape`: a fixed, seeded function over the whole space, cheap enough to call millions
  of times, with one best architecture. It stands in for "train the network and measure its
  validation accuracy", so a search can be watched converging in seconds.
- `TrainedReward`: the real thing at toy scale: it trains the network on generated images for a
  fixed number of steps and returns its accuracy on held-out images.

Nothing here is an exercise: the controller, its loss and the search loop are written in the notebook.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .nets import one_thread

log = logging.getLogger(__name__)

KERNELS = (1, 3, 5, 7)
WIDTHS = (8, 16, 32, 64)
# The landscape's rewards run from WORST to BEST, like validation accuracies of a 10-class problem.
WORST, BEST = 0.10, 0.95
MAX_ENUMERATION = 1 << 20


def describe(architecture: torch.Tensor, kernels: Sequence[int], widths: Sequence[int]) -> str:
    """A readable name for one architecture, e.g. '3x3/16 > 5x5/32 > 1x1/64'."""
    rows = torch.as_tensor(architecture).reshape(-1, 2).tolist()
    return " > ".join(f"{kernels[k]}x{kernels[k]}/{widths[w]}" for k, w in rows)


def _check_actions(actions: torch.Tensor, num_layers: int, sizes: Sequence[int]) -> None:
    if not isinstance(actions, torch.Tensor) or actions.dtype != torch.int64:
        raise TypeError(f"actions must be an int64 tensor of option indices, got {type(actions).__name__} "
                        f"{getattr(actions, 'dtype', '')}")
    if actions.dim() < 2 or tuple(actions.shape[-2:]) != (num_layers, 2):
        raise ValueError(f"actions must have shape (..., {num_layers}, 2), got {tuple(actions.shape)}")
    limits = torch.tensor(sizes, device=actions.device)
    if bool(((actions < 0) | (actions >= limits)).any()):
        raise ValueError(f"action indices out of range: kernels take 0..{sizes[0] - 1}, widths 0..{sizes[1] - 1}")


class RewardLandscape:
    """A fixed, seeded reward over the search space with a unique best architecture.

    Every layer has a seeded "sweet spot" (a kernel size, and a width that does not shrink with
    depth); an architecture loses reward for every step its choices are away from the sweet spots,
    each layer and decision weighted differently, with seeded bumps along the way. The reward is
    a sum over decisions, scaled so that the best architecture scores `BEST` (0.95) and the worst
    `WORST` (0.10): a stand-in for validation accuracy, cheap enough to call millions of times.
    """

    def __init__(self, num_layers: int = 4, kernels: Sequence[int] = KERNELS, widths: Sequence[int] = WIDTHS,
                 seed: int = 0) -> None:
        if num_layers < 1 or len(kernels) < 2 or len(widths) < 2:
            raise ValueError("need at least one layer and two options per decision")
        self.num_layers, self.kernels, self.widths, self.seed = num_layers, tuple(kernels), tuple(widths), seed
        generator = torch.Generator().manual_seed(seed)
        sizes = torch.tensor([len(kernels), len(widths)])
        options = int(sizes.max())
        kernel_best = torch.randint(0, len(kernels), (num_layers,), generator=generator)
        width_best = torch.randint(0, len(widths), (num_layers,), generator=generator).sort().values
        self.best = torch.stack([kernel_best, width_best], dim=-1)  # (L, 2)
        weight = 0.5 + torch.rand(num_layers, 2, 1, generator=generator, dtype=torch.float64)
        bumps = 0.3 * (torch.rand(num_layers, 2, options, generator=generator, dtype=torch.float64) - 0.5)
        distance = (torch.arange(options, dtype=torch.float64) - self.best[..., None]).abs()
        loss = weight * (distance + bumps)
        loss = loss - loss.gather(-1, self.best[..., None])  # 0 at the sweet spot, > 0.7 * weight elsewhere
        valid = torch.arange(options) < sizes[:, None]  # (2, options)
        worst = loss.masked_fill(~valid, -float("inf")).amax(-1).sum()
        # Reward of an architecture: BEST - (BEST - WORST) * (its loss / the largest loss).
        self._penalty = (BEST - WORST) * loss / worst  # (L, 2, options), float64
        self.best_reward = BEST
        self.size = (len(kernels) * len(widths)) ** num_layers

    @property
    def choices(self) -> list[list[int]]:
        """The options of each decision of a layer: [kernels, widths] (for `Controller`)."""
        return [list(self.kernels), list(self.widths)]

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:
        """Rewards (float32, shape actions.shape[:-2], on actions' device) of a batch of architectures."""
        _check_actions(actions, self.num_layers, (len(self.kernels), len(self.widths)))
        penalty = self._penalty.to(actions.device)
        layer = torch.arange(self.num_layers, device=actions.device)[:, None]
        decision = torch.arange(2, device=actions.device)
        return (BEST - penalty[layer, decision, actions].sum((-1, -2))).float()

    def enumerate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every architecture of the space (int64, (size, L, 2)) and its reward (float32, (size,))."""
        if self.size > MAX_ENUMERATION:
            raise ValueError(f"the space has {self.size:,} architectures; enumerate at most {MAX_ENUMERATION:,}")
        per_layer = len(self.kernels) * len(self.widths)
        grid = torch.cartesian_prod(*[torch.arange(per_layer)] * self.num_layers).reshape(-1, self.num_layers)
        actions = torch.stack([grid // len(self.widths), grid % len(self.widths)], dim=-1)
        return actions, self(actions)

    def describe(self, architecture: torch.Tensor) -> str:
        return describe(architecture, self.kernels, self.widths)


def make_stripes(n: int, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Generated texture images: horizontal, vertical or diagonal stripes, or a checkerboard.

    Every class has the same pixel statistics (half the pixels on, plus Gaussian noise), so a
    network that only looks at single pixels (all kernels 1x1) cannot beat chance (1/4); telling the
    classes apart needs a receptive field of several pixels.

    Returns:
        images: float32 (n, 1, size, size); labels: int64 (n,) in 0..3.
    """
    labels = torch.randint(0, 4, (n,), generator=generator)
    period = 2.0 * torch.randint(2, 5, (n, 1, 1), generator=generator)
    phase = torch.rand(n, 1, 1, generator=generator) * period
    rows, cols = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                                indexing="ij")

    def on(coordinate: torch.Tensor) -> torch.Tensor:
        return ((coordinate + phase) % period) < period / 2

    horizontal, vertical = on(rows), on(cols)
    patterns = torch.stack([horizontal, vertical, on(rows + cols), horizontal ^ vertical], dim=1)
    images = patterns[torch.arange(n), labels].float()
    images = images + 0.5 * torch.randn(n, size, size, generator=generator)
    return images[:, None], labels


class TrainedReward:
    """The real reward at toy scale: train the architecture, return its held-out accuracy.

    Each architecture becomes conv(kernel, width, padding kernel//2) + ReLU per layer, then global
    average pooling and a linear classifier over the 4 classes of `make_stripes`. It is trained
    with Adam for `steps` steps of batch 64 on a fixed, seeded training set and scored on 512
    held-out images. Results are cached per architecture (the training is seeded, so training
    the same architecture again would give the same accuracy); `trainings` counts real runs.
    """

    def __init__(self, num_layers: int = 2, kernels: Sequence[int] = (1, 3, 5), widths: Sequence[int] = (4, 8, 16),
                 steps: int = 60, image_size: int = 12, seed: int = 0, train_size: int = 1024) -> None:
        self.num_layers, self.kernels, self.widths = num_layers, tuple(kernels), tuple(widths)
        self.steps, self.seed = steps, seed
        generator = torch.Generator().manual_seed(seed)
        images, labels = make_stripes(train_size + 512, image_size, generator)
        self.train_images, self.train_labels = images[:train_size], labels[:train_size]
        self.test_images, self.test_labels = images[train_size:], labels[train_size:]
        self.cache: dict[tuple[int, ...], float] = {}
        self.trainings = 0

    @property
    def choices(self) -> list[list[int]]:
        return [list(self.kernels), list(self.widths)]

    def network(self, architecture: torch.Tensor) -> nn.Sequential:
        """The (untrained) network of one architecture, (num_layers, 2) option indices."""
        layers: list[nn.Module] = []
        channels = 1
        for k, w in architecture.reshape(-1, 2).tolist():
            kernel, width = self.kernels[k], self.widths[w]
            layers += [nn.Conv2d(channels, width, kernel, padding=kernel // 2), nn.ReLU()]
            channels = width
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 4))

    def accuracy(self, architecture: torch.Tensor, device: torch.device | str = "cpu") -> float:
        """Train one architecture from scratch (seeded) and return its held-out accuracy."""
        key = tuple(architecture.reshape(-1).tolist())
        if key in self.cache:
            return self.cache[key]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = self.network(architecture).to(device)
        generator = torch.Generator().manual_seed(self.seed + 1)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
        train_x, train_y = self.train_images.to(device), self.train_labels.to(device)
        with one_thread():
            for _ in range(self.steps):
                batch = torch.randint(0, len(train_y), (64,), generator=generator).to(device)
                loss = F.cross_entropy(net(train_x[batch]), train_y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                predicted = net(self.test_images.to(device)).argmax(1).cpu()
        accuracy = float((predicted == self.test_labels).float().mean())
        self.cache[key] = accuracy
        self.trainings += 1
        log.debug("trained %s: accuracy %.3f", self.describe(architecture), accuracy)
        return accuracy

    def __call__(self, actions: torch.Tensor) -> torch.Tensor:
        """Held-out accuracies (float32, shape (n,), on actions' device) of a batch (n, L, 2)."""
        _check_actions(actions, self.num_layers, (len(self.kernels), len(self.widths)))
        flat = actions.reshape(-1, self.num_layers, 2)
        rewards = [self.accuracy(a.cpu(), actions.device) for a in flat]
        return torch.tensor(rewards, dtype=torch.float32, device=actions.device).reshape(actions.shape[:-2])

    def describe(self, architecture: torch.Tensor) -> str:
        return describe(architecture, self.kernels, self.widths)
