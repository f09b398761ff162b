"""course.arch_facts: the quoted figures agree with the models they describe, where torchvision has them."""

import pytest
import torch
import torchvision

from course.arch_facts import (
    ILSVRC_TOP5_ERROR,
    MIXER_B16,
    MOBILENETV2_PAPER,
    RESNET_CIFAR_PAPER,
    RESNET_RECIPE_LECTURE,
    RESNET_RECIPE_PAPER,
    SWIN_T,
    VIT_B16,
)
from course.nets import count_params


def test_the_vit_configuration_is_torchvisions_vit_b_16():
    with torch.device("meta"):
        vit = torchvision.models.vit_b_16()
    assert (vit.patch_size, vit.hidden_dim, vit.mlp_dim, len(vit.encoder.layers)) == (
        VIT_B16["patch"], VIT_B16["hidden"], VIT_B16["mlp"], VIT_B16["layers"])
    assert vit.encoder.layers[0].self_attention.num_heads == VIT_B16["heads"]
    assert count_params(vit) == pytest.approx(VIT_B16["params"], rel=0.01)


def test_the_swin_configuration_is_torchvisions_swin_t():
    with torch.device("meta"):
        swin = torchvision.models.swin_t()
    stages = [swin.features[i] for i in (1, 3, 5, 7)]
    assert [len(stage) for stage in stages] == list(SWIN_T["depths"])
    assert swin.features[0][0].out_channels == SWIN_T["channels"]
    assert stages[0][0].attn.window_size == [SWIN_T["window"]] * 2
    assert count_params(swin) == pytest.approx(SWIN_T["params"], rel=0.02)


def test_mixer_b16_has_the_tokens_of_a_16x16_patching_of_224x224():
    assert MIXER_B16["tokens"] == (224 // MIXER_B16["patch"]) ** 2


def test_the_mobilenetv2_figures_are_torchvisions_model_to_the_papers_rounding():
    with torch.device("meta"):
        model = torchvision.models.mobilenet_v2()
    assert count_params(model) == pytest.approx(MOBILENETV2_PAPER["params"], rel=0.04)
    ops = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["_ops"]
    assert ops * 1e9 == pytest.approx(MOBILENETV2_PAPER["mult_adds"], rel=0.01)


def test_the_cifar_resnets_have_the_papers_parameter_counts():
    def params(depth):  # 6n + 2 layers of 3x3 convs with 16, 32, 64 filters; BN; parameter-free shortcuts
        n = (depth - 2) // 6
        total, channels = 27 * 16 + 32, 16
        for width in (16, 32, 64):
            for _ in range(n):
                total += 9 * channels * width + 9 * width * width + 4 * width
                channels = width
        return total + 650

    for depth, quoted in RESNET_CIFAR_PAPER.items():
        assert params(depth) == pytest.approx(quoted["params"], rel=0.02)


def test_the_recipe_quotes_differ_where_the_notebook_says_they_do():
    assert RESNET_RECIPE_LECTURE["weight decay"] * 10 == pytest.approx(RESNET_RECIPE_PAPER["weight decay"])
    assert "Xavier" in RESNET_RECIPE_LECTURE["initialisation"]
    assert "sqrt(2 / n)" in RESNET_RECIPE_PAPER["initialisation"]
    assert RESNET_RECIPE_PAPER["iterations"] == 60 * 10**4


def test_top5_errors_fall_with_the_years():
    errors = list(ILSVRC_TOP5_ERROR.values())
    assert errors == sorted(errors, reverse=True) and all(0 < e < 100 for e in errors)
