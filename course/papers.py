"""Figures as the papers state them, so the notebooks can compare computed numbers with them.

These are quotations, not results (like `course.lecture`): every notebook recomputes them with the
student's code and says where they differ. The papers call multiply-adds "FLOPs" or "mult-adds".
"""

from __future__ import annotations

# He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016), Table 1: FLOPs (multiply-adds)
# of one 224x224 forward pass.
RESNET_PAPER_FLOPS = {18: 1.8e9, 34: 3.6e9, 50: 3.8e9, 101: 7.6e9, 152: 11.3e9}

# Xie et al., "Aggregated Residual Transformations for Deep Neural Networks" (ResNeXt, CVPR 2017),
# Table 1: ResNet-50 and ResNeXt-50 (32x4d), parameters and FLOPs.
RESNEXT_PAPER = {
    "ResNet-50": {"params": 25.5e6, "flops": 4.1e9},
    "ResNeXt-50 32x4d": {"params": 25.0e6, "flops": 4.2e9},
}

# Howard et al., "MobileNets" (2017), Table 6 (width multiplier, 224x224): million mult-adds and
# million parameters.
MOBILENET_PAPER = {
    1.0: {"mult_adds": 569e6, "params": 4.2e6},
    0.75: {"mult_adds": 325e6, "params": 2.6e6},
    0.5: {"mult_adds": 149e6, "params": 1.3e6},
    0.25: {"mult_adds": 41e6, "params": 0.5e6},
}

# Hu et al., "Squeeze-and-Excitation Networks" (CVPR 2018), section on model complexity:
# "~2.5 million additional parameters" and "~3.87 GFLOPs" against ResNet-50's "~3.86 GFLOPs".
SENET_PAPER = {"extra_params": 2.5e6, "se_resnet50_flops": 3.87e9, "resnet50_flops": 3.86e9}
