"""Generated data for the segmentation notebook: shapes on noisy backgrounds, with masks.

Nothing is downloaded. `make_shapes` draws a seeded set of RGB images in memory, each with one or
a few shapes (squares, triangles pointing up, triangles pointing down) of random size and colour
that may overlap, on a background with a colour gradient, plus pixel noise. Every image comes with
an int64 mask of class indices (`CLASSES`).

By default the class of a shape is its *shape* and nothing else: every shape gets a random hue
(`hue_jitter=0.5`), so the colour of a pixel says whether it belongs to a shape (shapes are
saturated, the background is not) but not to which class. Deciding between a square and a
triangle, or which way a triangle points, needs the pixel's context: the outline of the shape it
lies in. With a small `hue_jitter` (e.g. 0.12) each class has its own hue (squares red, triangles
pointing up green, triangles pointing down blue)
and a network can classify pixels one at a time; the notebook trains on both to show the
difference.

    >>> from course.data import make_shapes
    >>> data = make_shapes(500, size=32, seed=0)
    >>> train, held_out = data.split(held_out=0.2, seed=0)
    >>> train.images.shape, train.masks.shape, train.masks.dtype
    (torch.Size([400, 3, 32, 32]), torch.Size([400, 32, 32]), torch.int64)

The same arguments give the same tensors on every machine (a `torch.Generator` seeded with `seed`
draws every random number on the CPU); different seeds give different sets.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch

__all__ = ["CLASSES", "SegmentationSet", "class_frequencies", "make_shapes"]

log = logging.getLogger(__name__)

CLASSES: tuple[str, ...] = ("background", "square", "triangle up", "triangle down")
"""Class names by index: 0 is the background, then one class per kind of shape."""

# Shapes of the same area as a circle of radius r: a square of half side r * sqrt(pi) / 2, an
# equilateral triangle of circumradius r * sqrt(4 pi / (3 sqrt 3)) (pointing up or down).
_SQUARE_HALF_SIDE = math.sqrt(math.pi) / 2
_TRIANGLE_CIRCUMRADIUS = math.sqrt(4 * math.pi / (3 * math.sqrt(3)))


@dataclass
class SegmentationSet:
    """Images and their masks, index-aligned.

    Attributes:
        images: float32 tensor (N, 3, H, W) with values in [0, 1].
        masks: int64 tensor (N, H, W) of class indices into `classes`.
        classes: the class names (`CLASSES` for `make_shapes`).
    """

    images: torch.Tensor
    masks: torch.Tensor
    classes: tuple[str, ...] = CLASSES

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.masks.ndim != 3:
            raise ValueError(f"images must be (N, C, H, W) and masks (N, H, W); got "
                             f"{tuple(self.images.shape)} and {tuple(self.masks.shape)}")
        if self.images.shape[0] != self.masks.shape[0] or self.images.shape[2:] != self.masks.shape[1:]:
            raise ValueError(f"images {tuple(self.images.shape)} and masks {tuple(self.masks.shape)} do not match")

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        """(image, mask) for an int index, or (images, masks) for a slice or index tensor."""
        return self.images[index], self.masks[index]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to(self, device: torch.device | str) -> SegmentationSet:
        """The same set with both tensors on `device`."""
        return SegmentationSet(self.images.to(device), self.masks.to(device), self.classes)

    def split(self, held_out: float = 0.2, seed: int = 0) -> tuple[SegmentationSet, SegmentationSet]:
        """A seeded random split into (train, held-out); `held_out` is the held-out fraction.

        Both parts are non-empty and disjoint, and together they are the whole set.
        """
        if not 0 < held_out < 1:
            raise ValueError(f"held_out must be a fraction in (0, 1), got {held_out}")
        n = len(self)
        if n < 2:
            raise ValueError("cannot split a set of fewer than 2 images")
        n_held_out = min(max(1, round(n * held_out)), n - 1)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).to(self.images.device)
        test, train = order[:n_held_out], order[n_held_out:]
        return (SegmentationSet(self.images[train], self.masks[train], self.classes),
                SegmentationSet(self.images[test], self.masks[test], self.classes))


def make_shapes(
    n: int,
    size: int | tuple[int, int] = 32,
    *,
    seed: int = 0,
    max_shapes: int = 2,
    radius: tuple[float, float] = (0.18, 0.3),
    noise: float = 0.03,
    gradient: float = 0.1,
    hue_jitter: float = 0.5,
    rotation: float = 0.0,
    centres: tuple[float, float] = (0.2, 0.8),
    class_weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> SegmentationSet:
    """`n` images of shapes with their segmentation masks, generated in memory.

    Each image has between 1 and `max_shapes` shapes (uniformly), each a square, an equilateral
    triangle pointing up or one pointing down (drawn with probabilities proportional to
    `class_weights`), with a random centre, colour and size, and a rotation in
    [-rotation, rotation] (0: squares stand on a side, triangles point straight up or down);
    shapes drawn later cover earlier ones, and the mask shows the class of the shape on top.
    A shape's hue is its class's (square 0, triangle up 1/3, triangle down 2/3 of the hue circle) plus
    a uniform offset in [-hue_jitter, hue_jitter], so with the default 0.5 the hue is uniformly
    random whatever the class; its saturation is in [0.75, 1] and its value in [0.5, 1]. The
    background has any hue, a saturation in [0, 0.2], a value in [0.2, 0.9], and a linear
    gradient of amplitude `gradient` in a random direction (its sign drawn per RGB channel).
    Gaussian noise of standard deviation `noise` is added, then values are clipped to [0, 1].

    Args:
        n: number of images (>= 1).
        size: image side in pixels, or an (H, W) pair.
        seed: seed of the generator; the same arguments always give the same tensors.
        max_shapes: the largest number of shapes per image (>= 1).
        radius: (smallest, largest) size of a shape, as a fraction of the shorter image side;
            the radius of a circle of the same area as the shape.
        noise: standard deviation of the pixel noise (0 for clean images).
        gradient: amplitude of the background's colour gradient across the image (0 for flat).
        hue_jitter: how far a shape's hue strays from its class's hue (0.5: colour is random).
        rotation: the largest rotation of a shape, in radians (pi: any orientation).
        centres: (lowest, highest) coordinate of a shape's centre, as a fraction of the image's
            height and width; (0.2, 0.8) keeps most of every shape inside the frame.
        class_weights: relative frequencies of squares, triangles pointing up and triangles pointing down.

    Returns:
        A SegmentationSet: images float32 (n, 3, H, W) in [0, 1], masks int64 (n, H, W) with
        values in 0..3 (`CLASSES`), both on the CPU.

    Raises:
        ValueError: for n < 1, max_shapes < 1, a side under 4 pixels, a radius range that is not
            0 < smallest <= largest, a centres range that is not lowest <= highest, negative
            noise, gradient, hue_jitter or rotation, or class_weights that are not three
            non-negative numbers with a positive sum.
    """
    height, width = (size, size) if isinstance(size, int) else size
    if n < 1 or max_shapes < 1 or min(height, width) < 4:
        raise ValueError(f"need n >= 1, max_shapes >= 1 and a size of at least 4 pixels; got {n}, {max_shapes}, {size}")
    if not 0 < radius[0] <= radius[1]:
        raise ValueError(f"radius must be a (smallest, largest) pair with 0 < smallest <= largest; got {radius}")
    if not centres[0] <= centres[1]:
        raise ValueError(f"centres must be a (lowest, highest) pair; got {centres}")
    if min(noise, gradient, hue_jitter, rotation) < 0:
        raise ValueError(f"noise, gradient, hue_jitter and rotation must be >= 0; got {noise}, {gradient}, "
                         f"{hue_jitter}, {rotation}")
    weights = torch.as_tensor(class_weights, dtype=torch.float64)
    if weights.shape != (len(CLASSES) - 1,) or bool((weights < 0).any()) or not float(weights.sum()) > 0:
        raise ValueError(f"class_weights must be {len(CLASSES) - 1} non-negative numbers with a positive sum; "
                         f"got {class_weights}")
    g = torch.Generator().manual_seed(seed)

    def uniform(*shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        return low + (high - low) * torch.rand(*shape, generator=g)

    side = min(height, width)
    s = max_shapes
    count = torch.randint(1, s + 1, (n,), generator=g)
    present = torch.arange(s) < count[:, None]  # (n, s)
    kind = 1 + torch.multinomial(weights, n * s, replacement=True, generator=g).reshape(n, s)
    r = uniform(n, s, low=radius[0] * side, high=radius[1] * side)
    cy = uniform(n, s, low=centres[0] * height, high=centres[1] * height)
    cx = uniform(n, s, low=centres[0] * width, high=centres[1] * width)
    angle = uniform(n, s, low=-rotation, high=rotation)
    # Colours: each class has its hue (squares red, triangles up green, triangles down blue) give or take
    # `hue_jitter`; shapes are saturated, the background (any hue) is not. Index 0 is the background.
    hue = torch.cat([uniform(n, 1), (kind - 1) / 3 + uniform(n, s, low=-hue_jitter, high=hue_jitter)], dim=1) % 1.0
    saturation = torch.cat([uniform(n, 1, low=0.0, high=0.2), uniform(n, s, low=0.75, high=1.0)], dim=1)
    value = torch.cat([uniform(n, 1, low=0.2, high=0.9), uniform(n, s, low=0.5, high=1.0)], dim=1)
    rgb = _hsv_to_rgb(hue, saturation, value)  # (n, s + 1, 3)
    background, colour = rgb[:, 0], rgb[:, 1:]
    direction = uniform(n, high=2 * math.pi)
    sign = torch.where(uniform(n, 3) < 0.5, -1.0, 1.0)

    # Pixel centres, then every shape's rotated coordinates at once: (n, s, H, W).
    yy = (torch.arange(height, dtype=torch.float32) + 0.5)[:, None]
    xx = (torch.arange(width, dtype=torch.float32) + 0.5)[None, :]
    dy = yy - cy[..., None, None]
    dx = xx - cx[..., None, None]
    cos, sin = torch.cos(angle)[..., None, None], torch.sin(angle)[..., None, None]
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy
    rr = r[..., None, None]
    square = torch.maximum(u.abs(), v.abs()) <= _SQUARE_HALF_SIDE * rr
    inradius = _TRIANGLE_CIRCUMRADIUS * rr / 2
    up, down = torch.ones_like(square), torch.ones_like(square)
    for k in range(3):  # the three sides' half-planes (library code, not an exercise); v grows downwards
        theta = 2 * math.pi * k / 3 + math.pi / 2
        up &= math.cos(theta) * u + math.sin(theta) * v <= inradius
        down &= math.cos(theta) * u - math.sin(theta) * v <= inradius
    kind_ = kind[..., None, None]
    inside = torch.where(kind_ == 1, square, torch.where(kind_ == 2, up, down)) & present[..., None, None]

    # Background with a linear gradient, then paint the shapes in order (later ones on top).
    ramp = torch.cos(direction)[:, None, None] * (xx / width - 0.5) + torch.sin(direction)[:, None, None] * (
        yy / height - 0.5)  # (n, H, W), within [-0.71, 0.71]
    images = background[:, :, None, None] + gradient * sign[:, :, None, None] * ramp[:, None]
    masks = torch.zeros(n, height, width, dtype=torch.int64)
    for k in range(s):
        on = inside[:, k]
        images = torch.where(on[:, None], colour[:, k, :, None, None], images)
        masks = torch.where(on, kind[:, k, None, None], masks)
    if noise > 0:
        images = images + noise * torch.randn(images.shape, generator=g)
    images = images.clamp(0, 1).float().contiguous()
    log.debug("made %d shapes images of %dx%d (seed %d)", n, height, width, seed)
    return SegmentationSet(images, masks.contiguous())


def _hsv_to_rgb(hue: torch.Tensor, saturation: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """HSV in [0, 1] to RGB in [0, 1], element-wise; a new last axis holds R, G, B."""
    k = (torch.tensor([5.0, 3.0, 1.0]) + 6 * hue[..., None]) % 6
    return value[..., None] * (1 - saturation[..., None] * torch.clamp(torch.minimum(k, 4 - k), 0, 1))


def class_frequencies(masks: torch.Tensor, num_classes: int = len(CLASSES)) -> torch.Tensor:
    """Fraction of the pixels of `masks` in each class, a float64 tensor (num_classes,)."""
    counts = torch.bincount(masks.flatten().long().cpu(), minlength=num_classes)[:num_classes]
    return counts.double() / max(1, int(counts.sum()))
