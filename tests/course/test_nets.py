"""course.nets: parameter counts, paper-style depth, state-dict layout checks, BatchNorm randomisation."""

import pytest
import torch
import torch.nn as nn
import torchvision

from course.nets import (
    assert_same_layout,
    count_params,
    load_in_order,
    materialize,
    one_thread,
    randomize_batchnorm,
    saved_tensor_bytes,
    weight_depth,
)


def test_count_params_with_and_without_batchnorm():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))
    assert count_params(model) == (3 * 9 * 4 + 4) + 8 + 10
    assert count_params(model, batch_norm=False) == (3 * 9 * 4 + 4) + 10
    with torch.device("meta"):
        assert count_params(torchvision.models.resnet50()) == 25_557_032


@pytest.mark.parametrize(
    ("builder", "depth"),
    [
        (torchvision.models.alexnet, 8),
        (torchvision.models.vgg16, 16),
        (lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False), 22),
        (torchvision.models.resnet18, 18),
        (torchvision.models.resnet50, 50),
        (torchvision.models.resnet152, 152),
        (torchvision.models.densenet121, 121),
    ],
)
def test_weight_depth_counts_like_the_papers(builder, depth):
    with torch.device("meta"):
        assert weight_depth(builder()) == depth


def test_weight_depth_explains_an_untraceable_model():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x) if x.sum() > 0 else x

    with pytest.raises(TypeError, match="cannot trace Branchy"):
        weight_depth(Branchy())


def test_assert_same_layout_names_what_differs():
    reference = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4))
    assert_same_layout(nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)), reference, name="same")
    with pytest.raises(AssertionError, match=r"missing, e\.g\. 1\.weight.*unexpected names, e\.g\. 0\.bias"):
        assert_same_layout(nn.Sequential(nn.Conv2d(3, 4, 3)), reference, name="renamed")
    with pytest.raises(AssertionError, match=r"0\.weight has shape \(4, 3, 5, 5\), expected \(4, 3, 3, 3\)\nHint: h"):
        wider = nn.Sequential(nn.Conv2d(3, 4, 5, bias=False), nn.BatchNorm2d(4))
        assert_same_layout(wider, reference, name="k", hint="h")
    with pytest.raises(AssertionError, match="expected an nn.Module"):
        assert_same_layout(None, reference, name="none")


def test_randomize_batchnorm_is_seeded_and_changes_eval_outputs():
    first = randomize_batchnorm(nn.BatchNorm2d(5), seed=3)
    second = randomize_batchnorm(nn.BatchNorm2d(5), seed=3)
    assert torch.equal(first.running_var, second.running_var) and torch.equal(first.weight, second.weight)
    assert not torch.equal(first.running_mean, torch.zeros(5))
    assert bool((first.running_var >= 0.5).all())
    assert not first.weight.requires_grad or first.weight.grad is None


def test_one_thread_restores_the_thread_count_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), one_thread():
        assert torch.get_num_threads() == 1
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before


def test_saved_tensor_bytes_counts_what_backward_keeps_once_and_no_parameters():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    x = torch.randn(2, 3, 8, 8)
    assert saved_tensor_bytes(conv, x) == x.numel() * 4, "a conv keeps its input (its weight is a parameter)"
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(4, 4, 3, padding=1))
    # the first conv keeps x; the in-place ReLU keeps its output, which the second conv keeps too: one copy
    assert saved_tensor_bytes(net, x) == (x.numel() + 2 * 4 * 8 * 8) * 4
    with torch.no_grad():
        assert saved_tensor_bytes(net, x) == 0, "nothing is kept without autograd"


def test_saved_tensor_bytes_keeps_batchnorm_statistics_and_max_pooling_positions():
    # What the notebook says each layer keeps: a conv its input; a BatchNorm in train mode its input and the
    # batch's mean and inverse standard deviation; an in-place ReLU its output, which the max pooling keeps
    # too (one copy), with the int64 position of each maximum. An odd, non-square batch.
    x = torch.randn(3, 2, 7, 10)
    net = nn.Sequential(nn.Conv2d(2, 5, 3, padding=1), nn.BatchNorm2d(5), nn.ReLU(inplace=True), nn.MaxPool2d(2))
    net.train()
    conv_out, pooled = 3 * 5 * 7 * 10, 3 * 5 * 3 * 5
    expected = 4 * x.numel() + 4 * conv_out + 4 * 2 * 5 + 4 * conv_out + 8 * pooled
    assert saved_tensor_bytes(net, x) == expected


def test_load_in_order_copies_tensors_by_position_and_names_a_mismatch():
    reference = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))

    class Renamed(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = nn.Conv2d(3, 4, 1)
            self.norm = nn.BatchNorm2d(4)

    ours = load_in_order(Renamed(), randomize_batchnorm(reference, seed=1))
    assert torch.equal(ours.first.weight, reference[0].weight)
    assert torch.equal(ours.norm.running_var, reference[1].running_var)
    with pytest.raises(AssertionError, match="shape"):
        load_in_order(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)), reference)
    with pytest.raises(AssertionError, match="tensors"):
        load_in_order(nn.Conv2d(3, 4, 1), reference)


def test_materialize_gives_a_meta_model_seeded_real_values_quickly():
    with torch.device("meta"):
        first, second = torchvision.models.resnet18(), torchvision.models.resnet18()
    first, second = materialize(first, seed=4), materialize(second, seed=4)
    assert all(p.device.type == "cpu" for p in first.parameters())
    pairs = zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    std = float(first.layer1[0].conv1.weight.detach().std())
    assert abs(std / (64 * 9) ** -0.5 - 1) < 0.05, "weights drawn with variance 1 / fan_in"
    assert bool((first.bn1.running_var >= 0.5).all()), "BatchNorm statistics randomised"
    with torch.no_grad():
        assert torch.isfinite(first.eval()(torch.randn(1, 3, 32, 32))).all()
