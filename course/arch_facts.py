"""Figures the architectures notebook quotes, each with where it comes from.

Quotations, not results (like `course.lecture` and `course.papers`): the notebook recomputes what it
can with the student's code and prints these next to it. Accuracies cannot be computed here (no
data set, no trained weights); where a row needs one, it comes from the papers below or from the
metadata torchvision ships with its weight enums (no download: `Weights.meta`).
"""

from __future__ import annotations

# He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016), Sec. 3.4, the ImageNet recipe:
# "We initialize the weights as in [13]" ([13] = He et al. 2015, "Delving Deep into Rectifiers": zero-mean
# Gaussian weights with std sqrt(2 / n)), "SGD with a mini-batch size of 256", "The learning rate starts
# from 0.1 and is divided by 10 when the error plateaus", "up to 60 x 10^4 iterations", "a weight decay of
# 0.0001 and a momentum of 0.9", "We do not use dropout"; BN "right after each convolution and before
# activation".
RESNET_RECIPE_PAPER = {
    "initialisation": "as in He et al. 2015 [13]: Gaussian, std sqrt(2 / n)",
    "batch size": 256,
    "learning rate": 0.1,
    "schedule": "divided by 10 when the error plateaus",
    "iterations": 600_000,
    "momentum": 0.9,
    "weight decay": 1e-4,
    "dropout": "none",
}

# The lecture's "training ResNet in practice" slide, on the two points where it differs from the paper.
RESNET_RECIPE_LECTURE = {
    "initialisation": "Xavier initialization from He et al.",
    "weight decay": 1e-5,
}

# He et al. (2016), Sec. 4.2 and Table 6, CIFAR-10: networks of 6n + 2 layers (3x3 convs with 16, 32 and
# 64 filters, identity shortcuts with zero padding, "option A"). The 1202-layer network trains to below
# 0.1% training error but tests worse than the 110-layer one: "We argue that this is because of
# overfitting. The 1202-layer network may be unnecessarily large (19.4M) for this small dataset."
RESNET_CIFAR_PAPER = {
    110: {"params": 1.7e6, "test_error": 6.43},
    1202: {"params": 19.4e6, "test_error": 7.93},
}

# Top-5 test errors of ILSVRC entries, as each paper reports its own submission (ensembles of several
# networks, many crops; AlexNet's also averages in two networks pre-trained on the whole ImageNet Fall 2011
# release, Sec. 6): Krizhevsky et al. 2012 (abstract, Sec. 6), Simonyan & Zisserman 2015 (Table 7, the
# ILSVRC-2014 submission), Szegedy et al. 2015 (Table 2), He et al. 2016 (Table 5), Hu et al. 2018
# (abstract, ILSVRC 2017).
ILSVRC_TOP5_ERROR = {
    "AlexNet (2012)": 15.3,
    "VGG (2014)": 7.3,
    "GoogLeNet (2014)": 6.67,
    "ResNet (2015)": 3.57,
    "SENet (2017)": 2.251,
}

# Huang et al., "Densely Connected Convolutional Networks" (CVPR 2017), Sec. 4.4 (ImageNet, Fig. 3):
# "a DenseNet-201 with 20M parameters model yields similar validation error as a 101-layer ResNet with
# more than 40M parameters."
DENSENET_PAPER_CLAIM = {"DenseNet-201 params": 20e6, "ResNet-101 params": 40e6}

# Howard et al., "MobileNets" (2017), Sec. 3.2 (with Table 2): "MobileNet spends 95% of it's computation
# time in 1 x 1 convolutions which also has 75% of the parameters"; Table 8: 1.0 MobileNet-224, 70.6%
# ImageNet top-1 accuracy.
MOBILENET_PAPER_SHARES = {"pointwise_macs": 0.95, "pointwise_params": 0.75, "top1": 70.6}

# Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks" (CVPR 2018), Table 4:
# MobileNetV2 (1.0, 224) 3.4M parameters, 300M multiply-adds, 72.0% top-1.
MOBILENETV2_PAPER = {"params": 3.4e6, "mult_adds": 300e6, "top1": 72.0}

# Dosovitskiy et al., "An Image is Worth 16x16 Words" (ICLR 2021), Table 1: ViT-Base has 12 layers,
# hidden size 768, MLP size 3072, 12 heads and 86M parameters; ViT-B/16 cuts a 224x224 image into
# 16x16 patches.
VIT_B16 = {"layers": 12, "hidden": 768, "mlp": 3072, "heads": 12, "patch": 16, "params": 86e6}

# Liu et al., "Swin Transformer" (ICCV 2021), Eq. (1)-(2): the cost of global and of window attention
# (the notebook quotes them after the exercise that derives them); Table 1: Swin-T, C = 96, layer numbers
# {2, 2, 6, 2}, window M = 7, 28M parameters, 4.5G FLOPs.
SWIN_T = {"channels": 96, "depths": (2, 2, 6, 2), "window": 7, "params": 28e6, "flops": 4.5e9}

# Tolstikhin et al., "MLP-Mixer" (NeurIPS 2021), Table 1: Mixer-B/16 has 12 layers, patch 16x16,
# hidden size C = 768, sequence length S = 196, MLP dimensions D_C = 3072 and D_S = 384, 59M parameters.
MIXER_B16 = {"layers": 12, "patch": 16, "hidden": 768, "tokens": 196, "mlp_channels": 3072, "mlp_tokens": 384,
             "params": 59e6}

# Hu et al., "Squeeze-and-Excitation Networks" (CVPR 2018), section "Model and Computational
# Complexity": the SE blocks of SE-ResNet-50 add (2 / r) * sum_s N_s C_s^2 weights ("~2.5 million
# additional parameters", r = 16, N_s blocks of C_s output channels in stage s); the models the authors
# released (github.com/hujie-frank/SENet, models/SE-ResNet-50.prototxt) also give those two layers biases.
SE_REDUCTION = 16
