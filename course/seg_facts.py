"""Figures the segmentation notebook quotes from the lecture and the papers, to compare with its own.

These are quotations, not results (like `course.lecture` and `course.papers`): the notebook
recomputes every one it can and says where the source rounds or errs. Each constant names its
source; "Sec." and "Fig." refer to the paper's own numbering.
"""

from __future__ import annotations

# --- Lecture 8, "Learnable upsampling: transposed convolution" ---------------------------------

# The 1-D example written as a matrix product: kernel (x, y, z), stride 2, input (a, b, c, d) padded
# with one zero at each end; X^T (a, b) as the slide writes it, over the six padded positions.
LECTURE_TRANSPOSED_1D_RESULT = ("ax", "ay", "az + bx", "by", "bz", "0")
# The padding the slide's caption gives for that example (its matrix multiplies the vector padded by 1).
LECTURE_TRANSPOSED_1D_CAPTION_PADDING = 0

# --- Long, Shelhamer & Darrell, "Fully Convolutional Networks for Semantic Segmentation" (CVPR 2015) --

# Table 2: mean IU of the skip architectures on a subset of PASCAL VOC 2011 val (fine-tuned from VGG16).
FCN_MEAN_IU = {"FCN-32s": 59.4, "FCN-16s": 62.4, "FCN-8s": 62.7}
# Sec. 4.2: the layers acting on pool4 (and pool3) are zero-initialised "so that the net starts with
# unmodified predictions"; the 2x upsamplings start as bilinear interpolation and are learned.
FCN_SKIP_INIT = "zero"

# --- Chen et al., "Rethinking Atrous Convolution for Semantic Image Segmentation" (DeepLabV3, 2017) --

# Sec. 3.3: ASPP's three 3x3 branches use rates (6, 12, 18) at output stride 16; "the rates are doubled
# when output stride = 8".
DEEPLABV3_RATES = {16: (6, 12, 18), 8: (12, 24, 36)}
# Sec. 3.3 and Fig. 4: the share of a 3x3 kernel's valid weights, plotted for a 65x65 feature map.
DEEPLABV3_FIG4_MAP_SIZE = 65

# --- Chen et al., "Encoder-Decoder with Atrous Separable Convolution" (DeepLabV3+, ECCV 2018) --------

# Sec. 3.1 and Tables 1-2: encoder output stride 16, upsampled x4 and concatenated with low-level
# features (stride 4) reduced to 48 channels by a 1x1 convolution, then two 3x3 convolutions of 256
# channels, then a last x4 upsampling.
DEEPLABV3PLUS_DECODER = {"encoder_stride": 16, "low_level_stride": 4, "low_level_channels": 48,
                         "refine_channels": 256, "refine_convs": 2}

# --- Zhao et al., "Pyramid Scene Parsing Network" (PSPNet, CVPR 2017), used by UperNet ---------------

# Sec. 3.2 and Fig. 3: the pyramid pooling module's bins, 1x1, 2x2, 3x3 and 6x6.
PSPNET_BINS = (1, 2, 3, 6)

# --- Yu & Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions" (ICLR 2016) -------------

# Table 1: the dilations of the basic context module's 3x3 layers (then a 1x1 layer).
CONTEXT_MODULE_DILATIONS = (1, 1, 2, 4, 8, 16, 1)
