"""course.seg_plots: the numbers behind the segmentation notebook's figures, and that figures draw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from course.data import make_shapes  # noqa: E402
from course.seg_plots import (  # noqa: E402
    accuracy_by_boundary_distance,
    boundary_distance,
    format_boundary_accuracy,
    format_symbolic,
    plot_boundary_accuracy,
    plot_curves,
    plot_grids,
    plot_predictions,
    plot_reconstructions,
    plot_shapes,
    plot_transposed_copies,
    plot_valid_taps,
    seconds_per_call,
    symbolic_combinations,
)
from course.training import History  # noqa: E402


def brute_force_distance(mask: torch.Tensor, cap: int) -> torch.Tensor:
    """Chessboard distance to the nearest pixel having a neighbour of another class, by brute force."""
    h, w = mask.shape
    on_boundary = torch.zeros(h, w, dtype=torch.bool)
    for i in range(h):
        for j in range(w):
            window = mask[max(0, i - 1) : i + 2, max(0, j - 1) : j + 2]
            on_boundary[i, j] = bool((window != mask[i, j]).any())
    points = on_boundary.nonzero()
    out = torch.full((h, w), cap, dtype=torch.int64)
    for i in range(h):
        for j in range(w):
            if len(points):
                d = int((points - torch.tensor([i, j])).abs().max(1).values.min())
                out[i, j] = min(d, cap)
    return out


def test_boundary_distance_equals_a_brute_force_count():
    masks = make_shapes(3, size=(14, 11), seed=0).masks
    masks[2] = 0  # no boundary at all
    got = boundary_distance(masks, max_distance=4)
    assert got.dtype == torch.int64 and got.shape == masks.shape
    for mask, distance in zip(masks, got, strict=True):
        assert torch.equal(distance, brute_force_distance(mask, 4))


def test_accuracy_by_boundary_distance_bins_every_pixel_once():
    target = make_shapes(4, size=16, seed=1).masks
    pred = target.clone()
    pred[boundary_distance(target, 3) == 0] = 0  # wrong only on boundaries (where the target is not 0)
    distances, accuracy, share = accuracy_by_boundary_distance(pred, target, max_distance=3)
    assert distances.tolist() == [0, 1, 2, 3]
    assert torch.isclose(share.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert accuracy[0] < 1 and torch.equal(accuracy[1:], torch.ones(3, dtype=torch.float64))


def test_format_boundary_accuracy_lists_every_model_and_the_shares():
    target = make_shapes(4, size=16, seed=1).masks
    models = {"perfect": target, "background": torch.zeros_like(target)}
    table = format_boundary_accuracy(models, target, max_distance=2)
    lines = table.splitlines()
    assert lines[0].split()[-3:] == ["0", "1", ">=2"]
    assert lines[1].startswith("perfect accuracy") and lines[1].split()[-3:] == ["1.000"] * 3
    assert lines[3].startswith("share of the pixels") and len(lines) == 4
    assert format_boundary_accuracy({}, target).splitlines()[0].startswith("distance")


def test_symbolic_combinations_give_the_lecture_example():
    def transposed(a, kernel, stride, padding):
        return F.conv_transpose1d(a[None, None], kernel[None, None], stride=stride, padding=padding)[0, 0]

    assert symbolic_combinations(transposed, "ab", "xyz", 2, 0) == ["ax", "ay", "az + bx", "by", "bz"]
    assert format_symbolic(torch.tensor([[1.0, 2.0, 0.0]]), {1.0: "x", 2.0: "y"}) == "[  x   y   0 ]"


def test_seconds_per_call_is_positive():
    assert 0 < seconds_per_call(lambda: sum(range(100)), repeat=2, min_time=0.001) < 1


def test_figures_draw():
    data = make_shapes(4, size=16, seed=0)
    history = History(steps=[1, 2], seconds=[0.1, 0.2], train_loss=[1.0, 0.5], metrics={"mIoU": [0.2, 0.4]})
    result = type("Result", (), {"history": history})()
    a = torch.tensor([1.0, 2.0])
    kernel = torch.tensor([1.0, 0.5, 0.25])
    alone = torch.diag(a)[:, None]  # one input value at a time
    copies = F.conv_transpose1d(alone, kernel[None, None], stride=2)[:, 0]
    figures = [
        plot_shapes(data.images, data.masks, n=3),
        plot_grids({"a": torch.arange(4.0).reshape(2, 2), "b": torch.ones(3)}),
        plot_curves({"UNet": result}, target=0.85),
        plot_predictions(data.images, data.masks, {"UNet": data.masks}, num_classes=4, n=2),
        plot_transposed_copies(a, kernel, copies, copies.sum(0), stride=2, padding=0),
        plot_boundary_accuracy({"UNet": data.masks}, data.masks),
        plot_reconstructions(data.images, data.images, n=2),
        plot_reconstructions(data.images, {"a": data.images, "b": data.images.flip(-1)}, n=3),
        plot_valid_taps(torch.arange(1, 5), {"4x4": torch.tensor([0.6, 0.3, 0.2, 0.1])}, marks=(2, 3)),
    ]
    assert all(isinstance(f, plt.Figure) for f in figures)
    assert plot_curves({}) is None and plot_predictions(data.images, data.masks, {}, 4) is None
    plt.close("all")
