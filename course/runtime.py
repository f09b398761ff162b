"""Where the notebooks run: which device, whether they are being graded, how big demos are.

Two environment variables steer every notebook:

- ``COURSE_DEVICE``: ``auto`` (default: CUDA when present, else CPU), ``cpu``, ``cuda`` or
  ``cuda:N``. The autograder sets it from ``--device``.
- ``NBGRADER_EXECUTION``: set to ``autograde`` by nbgrader while grading (``validate`` while
  validating). Demos then run at their small "grading" size; graded tests never depend on it.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

DEVICE_VARIABLE = "COURSE_DEVICE"


def device() -> torch.device:
    """The device notebooks should compute on, from ``COURSE_DEVICE`` (default ``auto``)."""
    choice = os.environ.get(DEVICE_VARIABLE, "auto").strip().lower() or "auto"
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"{DEVICE_VARIABLE}={choice} but PyTorch sees no CUDA device; use 'cpu' or 'auto'"
        )
    return torch.device(choice)


def is_grading() -> bool:
    """True while nbgrader autogrades or validates the notebook (demos shrink, tests do not)."""
    return os.environ.get("NBGRADER_EXECUTION", "") in ("autograde", "validate")


def budget(*, cpu, gpu=None, grading=None):
    """Pick a demo's size: `grading` while graded, `gpu` on a GPU, `cpu` otherwise.

    Heavy demos scale down rather than being skipped, so every cell always runs.
    """
    if is_grading() and grading is not None:
        return grading
    if gpu is not None and device().type == "cuda":
        return gpu
    return cpu


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and PyTorch, and return a torch.Generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
