"""course.arch_plots: the residual demonstrations measure what the notebook says, and every plot draws."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from course.arch_plots import (  # noqa: E402
    best_probability,
    channel_reach,
    demo_stack,
    effective_field,
    first_layer_gradient_norms,
    fit_random_labels,
    plot_accuracy_vs_cost,
    plot_channel_reach,
    plot_dense_channels,
    plot_effective_fields,
    plot_gradient_norms,
    plot_loss_curves,
    plot_mixing_costs,
    plot_rewards,
    plot_search,
    spread,
)
from course.display import input_gradient_map, show_figures  # noqa: E402
from course.nets import weight_depth  # noqa: E402


class _PreAct(nn.Module):
    """A minimal pre-activation unit (two convs), as a block factory would build."""

    def __init__(self, width):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1),
                                  nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


@pytest.mark.parametrize("depth", [4, 10, 32])
def test_a_demo_stack_has_the_depth_it_is_named_after(depth):
    assert weight_depth(demo_stack(depth, residual=True, batch_norm=True)) == depth
    assert weight_depth(demo_stack(depth, block=_PreAct)) == depth
    with pytest.raises(ValueError):
        demo_stack(depth + 1, residual=False, batch_norm=False)


def test_a_stack_of_given_blocks_ends_with_batchnorm_and_relu():
    stack = demo_stack(6, block=_PreAct)
    assert sum(isinstance(m, _PreAct) for m in stack) == 2
    assert isinstance(stack[-5], nn.BatchNorm2d) and isinstance(stack[-4], nn.ReLU)


def test_plain_gradients_vanish_without_normalisation_and_residual_ones_do_not():
    norms = first_layer_gradient_norms([4, 32], batch_norm=False)
    assert norms == first_layer_gradient_norms([4, 32], batch_norm=False), "seeded"
    assert norms["plain"][1] < 1e-6 * norms["plain"][0]
    assert 0.1 < norms["residual"][1] / norms["residual"][0] < 10


def test_plain_gradients_explode_with_batchnorm_more_than_residual_ones():
    norms = first_layer_gradient_norms([4, 32], batch_norm=True)
    assert norms["plain"][1] / norms["plain"][0] > 10 * norms["residual"][1] / norms["residual"][0]


def test_gradient_norms_of_given_blocks_only():
    norms = first_layer_gradient_norms([4, 16], batch_norm=True, kinds=(), blocks={"pre": _PreAct})
    assert list(norms) == ["pre"] and len(norms["pre"]) == 2
    assert norms["pre"][1] / norms["pre"][0] < 10, "a pre-activation stack's gradient barely grows with depth"


def test_the_effective_field_of_a_stack_is_narrower_than_its_theoretical_field():
    ones = input_gradient_map([(3, 1, 1)] * 3, 9)
    assert spread(ones) == pytest.approx((2 * 3 / 3) ** 0.5), "n 3x3 convs of ones: std sqrt(2n/3)"
    assert spread(input_gradient_map([(7, 1, 1)], 9)) == pytest.approx(2.0)
    field = effective_field([(3, 1, 1)] * 3, size=9, trials=4)
    assert field.shape == (9, 9) and bool((field[0] == 0).all()), "pixels outside the 7x7 field get no gradient"
    assert 1.2 < spread(field) < 2.0
    assert torch.equal(field, effective_field([(3, 1, 1)] * 3, size=9, trials=4)), "seeded"


def test_channel_reach_shows_which_groups_a_grouped_conv_connects():
    conv = nn.Conv2d(6, 6, 1, groups=3, bias=False)
    reach = channel_reach(conv, 6)
    assert reach.shape == (6, 6)
    assert torch.equal(reach > 0, torch.block_diag(*[torch.ones(2, 2)] * 3).bool())


def test_fit_random_labels_returns_one_curve_per_network():
    curves = fit_random_labels([4, 6], steps=3)
    assert list(curves) == ["plain-4", "residual-4", "plain-6", "residual-6"]
    assert all(len(losses) == 3 and all(isinstance(v, float) for v in losses) for losses in curves.values())


def test_best_probability_multiplies_the_chosen_options():
    probs = torch.tensor([[[[0.5, 0.5]], [[0.25, 0.75]]], [[[1.0, 0.0]], [[0.0, 1.0]]]])  # (T=2, L=2, D=1, K=2)
    best = torch.tensor([[0], [1]])
    assert torch.allclose(best_probability(probs, best), torch.tensor([0.5 * 0.75, 1.0]))


def test_every_plot_draws():
    figures = [
        plot_gradient_norms([4, 8], {"a": {"plain": [1.0, 0.0], "residual": [1.0, 1.0]}}),
        plot_loss_curves({"plain-4": [2.3, 2.0, 1.5], "residual-4": [2.3, 1.0, 0.5]}, smooth=2, chance=2.3),
        plot_accuracy_vs_cost([{"name": "a", "params": 1e6, "MACs": 1e9, "top1": 70.0},
                               {"name": "b", "params": 2e6, "MACs": 3e9, "top1": 75.5}]),
        plot_mixing_costs({"conv": ([1, 2, 4], [9, 36, 144]), "windows": ([2, 4], [20, 80])}, channels=1),
        plot_dense_channels([64, 96, 128, 64, 96], growth_rate=32),
        plot_rewards(torch.rand(100), 0.95),
        plot_effective_fields({"three 3x3": input_gradient_map([(3, 1, 1)] * 3, 9)}, {"three 3x3": 7}),
        plot_channel_reach({"grouped": torch.eye(4)}),
    ]
    steps = 8
    probs = torch.softmax(torch.randn(steps + 1, 3, 2, 4), -1)
    history = {"reward": [0.5] * steps, "baseline": [0.4] * steps, "probs": probs}
    figures.append(plot_search(history, torch.zeros(3, 2, dtype=torch.long), [[1, 3, 5, 7], [8, 16, 32]]))
    assert all(isinstance(f, plt.Figure) for f in figures)
    plt.close("all")


def test_plots_build_nothing_while_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert plot_rewards(torch.rand(10), 0.5) is None
    assert plot_gradient_norms([4, 8], {"a": {"plain": [1.0, 2.0]}}) is None
    assert not plt.get_fignums()
    assert plot_rewards.__name__ == "plot_rewards" and "Histogram" in plot_rewards.__doc__


def test_figures_are_closed_undrawn_while_grading(monkeypatch):
    plt.figure()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    show_figures()
    assert not plt.get_fignums()
    monkeypatch.delenv("NBGRADER_EXECUTION")
    plt.figure()
    show_figures()  # the Agg backend shows nothing, and keeps the figure
    assert plt.get_fignums()
    plt.close("all")
