"""Checks used by the notebooks' tests, with failure messages a student can act on.

Every check looks at the type first, then shape, dtype and device, and only then at values, so an
object that claims to equal everything cannot pass.
"""

from __future__ import annotations

import functools
import gc
import numbers
import sys
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import torch

from .loops import LoopViolation, find_loops_in_function

__all__ = [
    "assert_close",
    "assert_equal_int",
    "assert_no_loops",
    "assert_raises",
    "describe",
    "find_loops_in_function",
    "LoopViolation",
]


def describe(value: object) -> str:
    """A short description of a value's kind, for messages ("a torch.Tensor of shape (2, 3)")."""
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if type(value) in TENSOR_TYPES:
        return f"a torch.Tensor of shape {tuple(value.shape)}, dtype {value.dtype} on {value.device}"
    if type(value) is np.ndarray:
        return f"a numpy array of shape {value.shape}, dtype {value.dtype}"
    if value is None:
        return "None (did the function forget to `return`?)"
    if type(value) in (int, float, bool, complex, str) or type(value) in NUMPY_SCALARS:
        return f"a {kind} ({value!r:.60})"
    return f"a {kind}"  # no repr(): it would run the object's own code inside the check


# The types a check compares. Subclasses (of Tensor, ndarray, int, ...) are refused: their methods are
# code the check would run, and an object that answers comparisons itself proves nothing.
TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)
NUMPY_SCALARS = tuple(np.sctypeDict.values())
_audit = sys.audit


def _checked(check: Callable) -> Callable:
    """Run `check` with the grader's guard looking: in a graded kernel the guard compares what the check
    relies on with its record as the check starts (elsewhere `sys.audit` does nothing). Inside, no code
    of the notebook runs: the check refuses objects of the student's own types, and the garbage
    collector waits, so no `__del__` of the notebook's runs in the middle of a check."""

    @functools.wraps(check)
    def checked(*args, _audit=_audit, **kwargs):
        _audit("autograder.check")
        collecting = gc.isenabled()
        gc.disable()
        try:
            return check(*args, **kwargs)
        finally:
            if collecting:
                gc.enable()

    return checked


def _exactly(actual: object, kinds: tuple) -> bool:
    return type(actual) in kinds


def _fail(name: str, problem: str, hint: str | None) -> None:
    message = f"{name}: {problem}"
    if hint:
        message += f"\nHint: {hint}"
    raise AssertionError(message)


@_checked
def assert_close(
    actual: object,
    expected: object,
    *,
    name: str = "result",
    rtol: float = 1e-5,
    atol: float = 1e-6,
    check_dtype: bool = True,
    equal_nan: bool = True,
    hint: str | None = None,
) -> None:
    """Assert `actual` matches `expected` (a tensor, array or number) in type, shape, dtype, values.

    The message names what differs first: the type, then the shape, dtype, device, and for values
    the worst element with its index and how many elements are off.
    """
    if isinstance(expected, torch.Tensor):
        _compare_tensors(actual, expected, name, rtol, atol, check_dtype, equal_nan, hint)
    elif isinstance(expected, np.ndarray):
        if type(actual) is not np.ndarray:
            _fail(name, f"expected a numpy array, got {describe(actual)}", hint)
        _compare_tensors(
            torch.from_numpy(np.ascontiguousarray(actual)),
            torch.from_numpy(np.ascontiguousarray(expected)),
            name, rtol, atol, check_dtype, equal_nan, hint,
        )
    elif isinstance(expected, bool):
        if type(actual) not in (bool, np.bool_) or bool(actual) != expected:
            _fail(name, f"expected {expected}, got {describe(actual)}", hint)
    elif isinstance(expected, numbers.Integral):
        assert_equal_int(actual, int(expected), name=name, hint=hint)
    elif isinstance(expected, numbers.Real):
        if not (type(actual) in (int, float) or type(actual) in NUMPY_SCALARS and isinstance(actual, numbers.Real)):
            _fail(name, f"expected a Python float, got {describe(actual)}", hint)
        a, e = float(actual), float(expected)
        if np.isnan(e) and np.isnan(a) and equal_nan:
            return
        if not abs(a - e) <= atol + rtol * abs(e):
            _fail(name, f"expected {e!r}, got {a!r} (difference {abs(a - e):.3g})", hint)
    else:
        raise TypeError(f"assert_close cannot compare with {describe(expected)}")


@_checked
def assert_equal_int(actual: object, expected: int, *, name: str = "result", hint: str | None = None) -> None:
    """Assert `actual` is an integer (Python or NumPy, not bool or float) equal to `expected`."""
    if type(actual) in (bool, np.bool_) or not (
            type(actual) is int or type(actual) in NUMPY_SCALARS and isinstance(actual, numbers.Integral)):
        _fail(name, f"expected the integer {expected:,}, got {describe(actual)}", hint)
    if int(actual) != expected:
        _fail(name, f"expected {expected:,}, got {int(actual):,} (off by {int(actual) - expected:+,})", hint)


def _compare_tensors(actual, expected, name, rtol, atol, check_dtype, equal_nan, hint) -> None:
    if type(actual) not in TENSOR_TYPES:
        _fail(name, f"expected a torch.Tensor, got {describe(actual)}", hint)
    if actual.shape != expected.shape:
        _fail(name, f"shape is {tuple(actual.shape)}, expected {tuple(expected.shape)}", hint)
    if check_dtype and actual.dtype != expected.dtype:
        _fail(name, f"dtype is {actual.dtype}, expected {expected.dtype}", hint)
    if actual.device != expected.device:
        _fail(
            name,
            f"is on {actual.device}, expected {expected.device}; "
            "create new tensors on the input's device (e.g. `device=x.device`)",
            hint,
        )
    if expected.numel() == 0:
        return
    a = actual.detach()
    e = expected.detach()
    if e.is_floating_point() or e.is_complex() or a.is_floating_point():
        a, e = a.double(), e.double()
        close = torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
        excess = ((a - e).abs() - (atol + rtol * e.abs())).nan_to_num(nan=float("inf"))
    else:
        close = a == e
        excess = (a.long() - e.long()).abs().double() if not a.dtype == torch.bool else (~close).double()
    if bool(close.all()):
        return
    bad = int((~close).sum())
    worst = torch.where(close, torch.full_like(excess, -float("inf")), excess).argmax()
    index = tuple(int(i) for i in np.unravel_index(int(worst), tuple(e.shape)))
    _fail(
        name,
        f"{bad:,} of {e.numel():,} values differ; the worst is at index {index}: "
        f"got {a[index].item()!r}, expected {e[index].item()!r}",
        hint,
    )


@_checked
def assert_no_loops(func: Callable, *, name: str | None = None) -> None:
    """Assert a NO LOOPS function (and the functions of yours it calls) has no Python iteration.

    Looks for `for`/`while` loops, comprehensions, generator expressions, recursion, `map`/`filter`,
    `functools.reduce`, `np.vectorize`, `np.apply_along_axis`, `np.frompyfunc`, `Tensor.apply_`.
    """
    violations = find_loops_in_function(func)
    if violations:
        label = name or getattr(func, "__qualname__", repr(func))
        lines = "\n".join(f"  - {v}" for v in violations)
        raise AssertionError(
            f"{label} is marked NO LOOPS but iterates in Python:\n{lines}\n"
            "Rewrite it with whole-tensor operations (broadcasting, indexing, torch.bincount, "
            "scatter/gather, reshape) so it runs the same Python lines for any input size."
        )


@contextmanager
def assert_raises(exception: type[BaseException], *, name: str, why: str):
    """Assert the block raises `exception` (e.g. a ValueError for an impossible layer)."""
    try:
        yield
    except exception:
        return
    except Exception as error:  # noqa: BLE001 - the message names the wrong exception
        raise AssertionError(
            f"{name}: expected {exception.__name__} because {why}, got {type(error).__name__}: {error}"
        ) from error
    raise AssertionError(f"{name}: expected {exception.__name__} because {why}, but nothing was raised")
