"""course.data: the generated shapes segmentation set is seeded, well-formed and consistent."""

import math

import pytest
import torch

from course.data import CLASSES, SegmentationSet, class_frequencies, make_shapes


def saturation_and_hue(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """HSV saturation and hue (in [0, 1)) of RGB images (N, 3, H, W)."""
    high, argmax = images.max(1)
    low = images.min(1).values
    chroma = high - low
    saturation = torch.where(high > 0, chroma / high.clamp_min(1e-12), torch.zeros_like(high))
    r, g, b = images.unbind(1)
    safe = chroma.clamp_min(1e-12)
    hue = torch.stack([((g - b) / safe) % 6, (b - r) / safe + 2, (r - g) / safe + 4]).gather(0, argmax[None])[0] / 6
    return saturation, hue % 1.0


def test_shapes_dtypes_and_ranges():
    data = make_shapes(50, size=(24, 40), seed=3)
    assert isinstance(data, SegmentationSet) and len(data) == 50
    assert data.images.shape == (50, 3, 24, 40) and data.images.dtype == torch.float32
    assert data.masks.shape == (50, 24, 40) and data.masks.dtype == torch.int64
    assert data.images.min() >= 0 and data.images.max() <= 1
    assert set(data.masks.unique().tolist()) <= set(range(len(CLASSES)))
    assert data.classes == CLASSES and data.num_classes == 4
    image, mask = data[7]
    assert image.shape == (3, 24, 40) and mask.shape == (24, 40)


def test_the_same_seed_gives_the_same_set_and_other_seeds_differ():
    a, b, c = make_shapes(40, seed=5), make_shapes(40, seed=5), make_shapes(40, seed=6)
    assert torch.equal(a.images, b.images) and torch.equal(a.masks, b.masks)
    assert not torch.equal(a.masks, c.masks) and not torch.equal(a.images, c.images)
    torch.manual_seed(123)  # the global generator plays no part
    d = make_shapes(40, seed=5)
    assert torch.equal(a.images, d.images)


def test_every_class_is_present_and_background_dominates():
    frequencies = class_frequencies(make_shapes(400, seed=0).masks)
    assert frequencies.dtype == torch.float64 and frequencies.shape == (4,)
    assert math.isclose(float(frequencies.sum()), 1.0)
    assert 0.6 < frequencies[0] < 0.95, frequencies
    shapes = frequencies[1:]
    assert (shapes > 0.02).all(), frequencies
    assert shapes.max() / shapes.min() < 1.5, f"shape classes should be roughly balanced: {frequencies}"


def test_images_show_overlaps_and_several_sizes():
    data = make_shapes(300, seed=1)
    per_image = (data.masks > 0).flatten(1).float().mean(1)
    assert per_image.min() < 0.12 and per_image.max() > 0.3, "shape areas should vary from small to large"
    classes_per_image = torch.stack([(data.masks == k).flatten(1).any(1) for k in range(1, 4)], 1).sum(1)
    assert (classes_per_image >= 2).float().mean() > 0.2, "many images should hold several classes"
    assert (classes_per_image >= 1).all(), "every image holds a shape"


def test_masks_agree_with_the_pixels_on_clean_images():
    data = make_shapes(100, seed=2, noise=0.0, gradient=0.0, hue_jitter=0.1)
    saturation, hue = saturation_and_hue(data.images)
    shape = data.masks > 0
    assert (saturation[shape] >= 0.75 - 1e-4).all() and (saturation[~shape] <= 0.2 + 1e-4).all()
    for k in (1, 2, 3):
        distance = ((hue[data.masks == k] - (k - 1) / 3 + 0.5) % 1.0 - 0.5).abs()
        assert distance.max() <= 0.1 + 1e-4, f"{CLASSES[k]} pixels should have hue {(k - 1) / 3:.3f} +- 0.1"
    # Without noise or gradient the background is one flat colour per image.
    flat = data.images.permute(0, 2, 3, 1)[~shape]
    owner = torch.arange(len(data))[:, None, None].expand_as(data.masks)[~shape]
    for i in owner.unique()[:20]:
        colours = flat[owner == i]
        assert torch.allclose(colours, colours[0].expand_as(colours))


def test_by_default_colour_says_whether_a_pixel_is_a_shape_but_not_which():
    data = make_shapes(600, seed=3, noise=0.0, gradient=0.0)
    saturation, hue = saturation_and_hue(data.images)
    assert saturation[data.masks > 0].min() > saturation[data.masks == 0].max()
    angle = 2 * math.pi * hue
    for k in (1, 2, 3):
        chosen = data.masks == k
        # The mean direction of the hues of a class: 1 if they all agree, about 0 if they are uniformly spread.
        resultant = torch.hypot(torch.cos(angle[chosen]).mean(), torch.sin(angle[chosen]).mean())
        assert resultant < 0.15, f"{CLASSES[k]} pixels should have no typical hue (resultant {resultant:.2f})"


def test_the_same_seed_with_another_hue_jitter_gives_the_same_masks():
    coded, random = make_shapes(30, seed=4, hue_jitter=0.12), make_shapes(30, seed=4)
    assert torch.equal(coded.masks, random.masks) and not torch.equal(coded.images, random.images)


def test_upright_squares_have_horizontal_and_vertical_sides():
    data = make_shapes(200, seed=5, max_shapes=1, noise=0.0)
    squares = data.masks == 1
    has_square = squares.flatten(1).any(1)
    rows, cols = squares.any(2), squares.any(1)
    for i in torch.nonzero(has_square).flatten()[:20]:
        box = squares[i][rows[i]][:, cols[i]]
        assert box.all(), "an upright square, alone in its image, fills its bounding box"
    tilted = make_shapes(200, seed=5, max_shapes=1, noise=0.0, rotation=math.pi)
    boxes_filled = [bool(tilted.masks[i][(tilted.masks[i] == 1).any(1)][:, (tilted.masks[i] == 1).any(0)].eq(1).all())
                    for i in range(200) if (tilted.masks[i] == 1).any()]
    assert sum(boxes_filled) < len(boxes_filled) / 2, "with rotation, most squares are tilted"


def test_triangles_point_up_or_down():
    data = make_shapes(300, seed=7, max_shapes=1, noise=0.0)
    for k, wider in ((2, "bottom"), (3, "top")):
        widths = (data.masks == k).sum(2).float()  # (n, H): each row's width of the class
        rows = torch.nonzero(widths.sum(1)).flatten()[:30]
        for i in rows:
            filled = torch.nonzero(widths[i]).flatten()
            top, bottom = widths[i, filled[: len(filled) // 3]].mean(), widths[i, filled[-(len(filled) // 3):]].mean()
            assert (bottom > top) == (wider == "bottom"), f"{CLASSES[k]} should be wider at the {wider}"


def test_class_weights_make_a_class_rare():
    frequencies = class_frequencies(make_shapes(400, seed=6, class_weights=(1.0, 1.0, 0.2)).masks)
    assert frequencies[3] < frequencies[1] / 3 and frequencies[3] < frequencies[2] / 3, frequencies
    assert class_frequencies(make_shapes(100, seed=6, class_weights=(0.0, 1.0, 0.0)).masks)[[1, 3]].sum() == 0


def test_noise_and_gradient_change_only_the_pixels():
    clean = make_shapes(20, seed=4, noise=0.0, gradient=0.0)
    noisy = make_shapes(20, seed=4, noise=0.2, gradient=0.3)
    assert torch.equal(clean.masks, noisy.masks)
    assert not torch.equal(clean.images, noisy.images)
    assert (noisy.images - clean.images).abs().mean() > 0.05


def test_split_is_seeded_disjoint_and_complete():
    data = make_shapes(50, seed=0)
    train, held_out = data.split(held_out=0.2, seed=1)
    assert len(train) == 40 and len(held_out) == 10
    again, _ = data.split(held_out=0.2, seed=1)
    other, _ = data.split(held_out=0.2, seed=2)
    assert torch.equal(train.images, again.images) and not torch.equal(train.images, other.images)
    weights = torch.rand(3 * 32 * 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def fingerprints(part: SegmentationSet) -> list[float]:
        return [round(v, 6) for v in (part.images.double().flatten(1) @ weights).tolist()]

    assert sorted(fingerprints(train) + fingerprints(held_out)) == sorted(fingerprints(data))
    assert len(set(fingerprints(data))) == len(data)
    tiny_train, tiny_held = make_shapes(2, seed=0).split(held_out=0.01)
    assert len(tiny_train) == 1 and len(tiny_held) == 1


def test_to_keeps_the_data_and_classes():
    data = make_shapes(3, seed=0).to("cpu")
    assert data.images.device.type == "cpu" and data.classes == CLASSES


@pytest.mark.parametrize(
    "kwargs",
    [dict(n=0), dict(n=4, size=3), dict(n=4, max_shapes=0), dict(n=4, radius=(0.3, 0.1)), dict(n=4, noise=-0.1),
     dict(n=4, rotation=-1.0), dict(n=4, centres=(0.8, 0.2)), dict(n=4, class_weights=(1.0, 1.0)),
     dict(n=4, class_weights=(1.0, -1.0, 1.0)), dict(n=4, class_weights=(0.0, 0.0, 0.0))],
)
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        make_shapes(**kwargs)


def test_bad_splits_and_mismatched_sets_are_refused():
    data = make_shapes(4, seed=0)
    with pytest.raises(ValueError):
        data.split(held_out=1.0)
    with pytest.raises(ValueError):
        make_shapes(1, seed=0).split()
    with pytest.raises(ValueError):
        SegmentationSet(data.images, data.masks[:3])
    with pytest.raises(ValueError):
        SegmentationSet(data.images[0], data.masks)
