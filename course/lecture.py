"""Figures as the lecture slides state them, so notebooks can compare computed numbers with them.

These are quotations, not results: every notebook recomputes them and says where they differ.
"""

from __future__ import annotations

from typing import NamedTuple


class LectureRow(NamedTuple):
    name: str
    shape: tuple[int, ...]
    memory: int  # the slide's product, e.g. 224*224*64
    memory_as_written: str  # the slide's rounded figure, e.g. "3.2M"
    params: int  # the slide's product; biases are left out on the slide


# Lecture 8, "VGGNet: memory and parameters" (the VGG16 table; biases not counted).
VGG16_TABLE: tuple[LectureRow, ...] = (
    LectureRow("INPUT", (224, 224, 3), 224 * 224 * 3, "150K", 0),
    LectureRow("CONV3-64", (224, 224, 64), 224 * 224 * 64, "3.2M", (3 * 3 * 3) * 64),
    LectureRow("CONV3-64", (224, 224, 64), 224 * 224 * 64, "3.2M", (3 * 3 * 64) * 64),
    LectureRow("POOL2", (112, 112, 64), 112 * 112 * 64, "800K", 0),
    LectureRow("CONV3-128", (112, 112, 128), 112 * 112 * 128, "1.6M", (3 * 3 * 64) * 128),
    LectureRow("CONV3-128", (112, 112, 128), 112 * 112 * 128, "1.6M", (3 * 3 * 128) * 128),
    LectureRow("POOL2", (56, 56, 128), 56 * 56 * 128, "400K", 0),
    LectureRow("CONV3-256", (56, 56, 256), 56 * 56 * 256, "800K", (3 * 3 * 128) * 256),
    LectureRow("CONV3-256", (56, 56, 256), 56 * 56 * 256, "800K", (3 * 3 * 256) * 256),
    LectureRow("CONV3-256", (56, 56, 256), 56 * 56 * 256, "800K", (3 * 3 * 256) * 256),
    LectureRow("POOL2", (28, 28, 256), 28 * 28 * 256, "200K", 0),
    LectureRow("CONV3-512", (28, 28, 512), 28 * 28 * 512, "400K", (3 * 3 * 256) * 512),
    LectureRow("CONV3-512", (28, 28, 512), 28 * 28 * 512, "400K", (3 * 3 * 512) * 512),
    LectureRow("CONV3-512", (28, 28, 512), 28 * 28 * 512, "400K", (3 * 3 * 512) * 512),
    LectureRow("POOL2", (14, 14, 512), 14 * 14 * 512, "100K", 0),
    LectureRow("CONV3-512", (14, 14, 512), 14 * 14 * 512, "100K", (3 * 3 * 512) * 512),
    LectureRow("CONV3-512", (14, 14, 512), 14 * 14 * 512, "100K", (3 * 3 * 512) * 512),
    LectureRow("CONV3-512", (14, 14, 512), 14 * 14 * 512, "100K", (3 * 3 * 512) * 512),
    LectureRow("POOL2", (7, 7, 512), 7 * 7 * 512, "25K", 0),
    LectureRow("FC", (4096,), 4096, "4096", 7 * 7 * 512 * 4096),
    LectureRow("FC", (4096,), 4096, "4096", 4096 * 4096),
    LectureRow("FC", (1000,), 1000, "1000", 4096 * 1000),
)

# The slide's totals, as written under the table.
VGG16_TOTAL_MEMORY_AS_WRITTEN = "24M * 4 bytes ~= 96MB / image (only forward! ~*2 for bwd)"
VGG16_TOTAL_MEMORY_STATED = 24_000_000
VGG16_TOTAL_PARAMS_STATED = 138_000_000

# Lecture 8, the DenseNet slide, on ImageNet accuracy and depth (the notebook compares it with torchvision's
# weights and with what the DenseNet paper, Sec. 4.4, says).
DENSENET_LECTURE_CLAIM = "a shallow 50-layer network can outperform a deeper 152-layer ResNet"

# torchvision's VGG configurations ("A" = VGG11, "B" = VGG13, "D" = VGG16, "E" = VGG19).
VGG_CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [
        64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
        512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
    ],
}
