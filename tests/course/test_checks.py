"""assert_close and friends: they fail on every kind of wrong answer, with a message that says why."""

import numpy as np
import pytest
import torch

from course import assert_close, assert_equal_int, assert_no_loops, assert_raises


class AlwaysEqual:
    def __eq__(self, other):
        return True

    shape = (2, 3)
    dtype = torch.float32


def message(call) -> str:
    with pytest.raises(AssertionError) as info:
        call()
    return str(info.value)


def test_equal_tensors_pass():
    x = torch.randn(3, 4, dtype=torch.float64)
    assert_close(x.clone(), x)
    assert_close(x + 1e-9, x)
    assert_close(torch.tensor([float("nan")]), torch.tensor([float("nan")]))


def test_an_object_that_equals_everything_fails_on_type():
    text = message(lambda: assert_close(AlwaysEqual(), torch.zeros(2, 3), name="iou"))
    assert "iou: expected a torch.Tensor" in text and "AlwaysEqual" in text


def test_shape_dtype_and_device_are_named():
    assert "shape is (3, 2), expected (2, 3)" in message(lambda: assert_close(torch.zeros(3, 2), torch.zeros(2, 3)))
    assert "dtype is torch.float32, expected torch.int64" in message(
        lambda: assert_close(torch.zeros(2), torch.zeros(2, dtype=torch.long))
    )
    assert_close(torch.zeros(2), torch.zeros(2, dtype=torch.float64), check_dtype=False)


def test_values_report_the_worst_element_and_the_count():
    expected = torch.zeros(4, 5)
    actual = expected.clone()
    actual[1, 2], actual[3, 4] = 0.5, 2.0
    text = message(lambda: assert_close(actual, expected, name="conf", hint="count each pixel once"))
    assert "2 of 20 values differ" in text and "index (3, 4)" in text and "got 2.0, expected 0.0" in text
    assert text.endswith("Hint: count each pixel once")


def test_nan_where_a_number_is_expected_fails():
    assert "1 of 3 values differ" in message(
        lambda: assert_close(torch.tensor([0.0, float("nan"), 1.0]), torch.tensor([0.0, 0.5, 1.0]))
    )


def test_integer_tensors_compare_exactly():
    assert "index (1,)" in message(lambda: assert_close(torch.tensor([1, 3]), torch.tensor([1, 2])))


def test_numpy_and_scalars():
    assert_close(np.arange(3), np.arange(3))
    assert "expected a numpy array" in message(lambda: assert_close([0, 1, 2], np.arange(3)))
    assert_close(0.25, 0.25 + 1e-9)
    assert "expected a Python float" in message(lambda: assert_close(torch.tensor(0.25), 0.25))
    assert "expected 0.25, got 0.5" in message(lambda: assert_close(0.5, 0.25))


def test_assert_equal_int():
    assert_equal_int(np.int64(7), 7)
    assert "expected the integer 7, got" in message(lambda: assert_equal_int(7.0, 7))
    assert "expected the integer 1, got" in message(lambda: assert_equal_int(True, 1))
    assert "off by +1" in message(lambda: assert_equal_int(8, 7))
    assert "forget to `return`" in message(lambda: assert_equal_int(None, 7))


def test_assert_raises():
    with assert_raises(ValueError, name="f", why="bad"):
        raise ValueError("x")
    assert "nothing was raised" in message(lambda: _raise_inside(None))
    assert "got KeyError" in message(lambda: _raise_inside(KeyError))


def _raise_inside(kind):
    with assert_raises(ValueError, name="f", why="bad"):
        if kind is not None:
            raise kind("x")


def test_assert_no_loops_names_function_and_line():
    def looped(x):
        total = 0
        for value in x:
            total += value
        return total

    text = message(lambda: assert_no_loops(looped))
    assert "looped is marked NO LOOPS" in text and "for loop at line 3" in text and "for value in x:" in text

    def clean(x):
        return x.sum()

    assert_no_loops(clean)


def test_subclasses_are_refused_without_running_their_code():
    ran = []

    class Lying(np.ndarray):
        def __eq__(self, other):
            ran.append("eq")
            return True

        def __repr__(self):
            ran.append("repr")
            return "fine"

    class Number(int):
        def __eq__(self, other):
            return True

    with pytest.raises(AssertionError, match="expected a numpy array, got a .*Lying"):
        assert_close(np.zeros(3).view(Lying), np.ones(3))
    with pytest.raises(AssertionError, match="expected the integer 5, got a .*Number"):
        assert_equal_int(Number(0), 5)
    with pytest.raises(AssertionError, match="expected a torch.Tensor"):
        assert_close(torch.zeros(2).as_subclass(type("T", (torch.Tensor,), {})), torch.zeros(2))
    assert ran == []
    assert_close(torch.nn.Parameter(torch.ones(2)), torch.ones(2))  # a parameter is a tensor the tests compare
    assert_close(np.float32(0.5), 0.5)
    assert_equal_int(np.int64(3), 3)


def test_checks_keep_their_signature_and_name():
    import inspect

    assert list(inspect.signature(assert_close).parameters)[:2] == ["actual", "expected"]
    assert assert_close.__name__ == "assert_close" and "Assert `actual`" in assert_close.__doc__
