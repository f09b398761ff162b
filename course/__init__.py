"""Student helpers for Assignment 2 of Introduction to Computer Vision (Deep Learning V).

Import what the notebooks need from here: checks for tests, the device and grading mode,
generated data, display helpers, and `self_check()`, which tells a student what to fix before
submitting. Nothing in this package solves an exercise.
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
    "self_check",
]


def __getattr__(name: str):
    # self_check is imported on first use: `import course` stays light, and `python -m course.selfcheck`
    # does not find its own module already imported.
    if name == "self_check":
        from .selfcheck import self_check

        return self_check
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
