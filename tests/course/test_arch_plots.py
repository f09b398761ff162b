"""course.arch_plots: the residual demonstrations measure what the notebook says, and every plot draws."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course.arch_plots import (  # noqa: E402
    best_probability,
    demo_stack,
    first_layer_gradient_norms,
    fit_random_labels,
    plot_family,
    plot_gradient_norms,
    plot_loss_curves,
    plot_search,
)
from course.display import show_figures  # noqa: E402
from course.nets import weight_depth  # noqa: E402


@pytest.mark.parametrize("depth", [4, 10, 32])
def test_a_demo_stack_has_the_depth_it_is_named_after(depth):
    assert weight_depth(demo_stack(depth, residual=True, batch_norm=True)) == depth
    with pytest.raises(ValueError):
        demo_stack(depth + 1, residual=False, batch_norm=False)


def test_plain_gradients_vanish_without_normalisation_and_residual_ones_do_not():
    norms = first_layer_gradient_norms([4, 32], batch_norm=False)
    assert norms == first_layer_gradient_norms([4, 32], batch_norm=False), "seeded"
    assert norms["plain"][1] < 1e-6 * norms["plain"][0]
    assert 0.1 < norms["residual"][1] / norms["residual"][0] < 10


def test_plain_gradients_explode_with_batchnorm_more_than_residual_ones():
    norms = first_layer_gradient_norms([4, 32], batch_norm=True)
    assert norms["plain"][1] / norms["plain"][0] > 10 * norms["residual"][1] / norms["residual"][0]


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
        plot_family([{"name": "a", "params": 1e6, "MACs": 1e9, "depth": 8},
                     {"name": "b", "params": 2e6, "MACs": 3e9, "depth": 50}]),
    ]
    steps = 8
    probs = torch.softmax(torch.randn(steps + 1, 3, 2, 4), -1)
    history = {"reward": [0.5] * steps, "baseline": [0.4] * steps, "probs": probs}
    figures.append(plot_search(history, torch.zeros(3, 2, dtype=torch.long), [[1, 3, 5, 7], [8, 16, 32]]))
    assert all(isinstance(f, plt.Figure) for f in figures)
    plt.close("all")


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
