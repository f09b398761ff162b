"""Student helpers for Assignment 2 of Introduction to Computer Vision (Deep Learning V).

Import what the notebooks need from here: checks for tests, the device and grading mode,
generated data, and display helpers. Nothing in this package solves an exercise.
"""

from .checks import assert_close, assert_equal_int, assert_no_loops, assert_raises, describe
from .runtime import budget, device, is_grading, seed_everything

__all__ = [
    "assert_close",
    "assert_equal_int",
    "assert_no_loops",
    "assert_raises",
    "budget",
    "describe",
    "device",
    "is_grading",
    "seed_everything",
]
