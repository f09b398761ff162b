"""What the static integrity scan flags, and what it leaves alone."""

import ast

import pytest

from autograder.integrity import imported_names, integrity_findings

SETUP = """%matplotlib inline
import numpy as np
import torch
import torch.nn.functional as F
import course
from course import assert_close, assert_no_loops
"""
PROTECTED = imported_names(SETUP)


def findings(code: str) -> list[str]:
    return integrity_findings(ast.parse(code), PROTECTED)


def test_imported_names_of_the_locked_setup_cell():
    assert PROTECTED == {
        "np": ("numpy", None), "torch": ("torch", None), "F": ("torch.nn.functional", None),
        "course": ("course", None), "assert_close": ("course", "assert_close"),
        "assert_no_loops": ("course", "assert_no_loops"),
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("assert_close = lambda *a, **k: None", "rebinds `assert_close`"),
        ("def assert_no_loops(f):\n    pass", "redefines `assert_no_loops`"),
        ("from mylib import close as assert_close", "imports something else as `assert_close`"),
        ("torch.allclose = lambda *a: True", "assigns to `torch.allclose`"),
        ("np.testing.assert_allclose = print", "assigns to `np.testing.assert_allclose`"),
        ("course.checks.assert_close = print", "assigns to `course.checks.assert_close`"),
        ("import builtins\nbuiltins.isinstance = lambda *a: True", "assigns to `builtins.isinstance`"),
        ("import sys\nsys.modules['course'] = None", "assigns to `sys.modules['course']`"),
        ("setattr(torch, 'equal', lambda *a: True)", "calls setattr() on `torch`"),
        ("import sys\nf = sys._getframe(1)", "uses `._getframe`"),
        ("import inspect\ns = inspect.stack()", "imports inspect"),
        ("import inspect\nsource = inspect.getsource(f)", "imports inspect"),
        ("def f():\n    return g.f_back.f_locals", "uses `.f_back`"),
        ("print(In[-1])", "uses `In`"),
        ("open('../../gradebook.db').read()", "mentions 'gradebook'"),
        ("__builtins__['len'] = max", "uses `__builtins__`"),
        ("import pkgutil\nd = pkgutil.resolve_name('course.checks:assert_close.__kwdefaults__')", "imports pkgutil"),
        ("d = resolve('course.checks:assert_close.__kwdefaults__')", "a string names `.__kwdefaults__`"),
        ("f = get('_error.__traceback__.tb_frame.f_back')", "a string names `.__traceback__`"),
        ("from unittest import mock\nmock.patch('course.checks._fail')", "imports unittest"),
        ("class N(int):\n    def __eq__(self, other):\n        return True", "defines `__eq__`"),
        ("class A(np.ndarray):\n    __array_ufunc__ = None", "defines `__array_ufunc__`"),
        ("N = type('N', (int,), {'__eq__': lambda s, o: True})", "a string names `.__eq__`"),
    ],
)
def test_tampering_is_flagged(code, expected):
    assert any(expected in f for f in findings(code)), findings(code)


@pytest.mark.parametrize(
    "code",
    [
        "import numpy as np\nimport torch.nn.functional as F",
        "from torch.nn import functional as F",
        "x = torch.stack([a, b])\ny = np.add.reduce(x)",
        "def conv_output_size(size, kernel):\n    return (size - kernel) + 1",
        "result = assert_close",
        "model.fc = torch.nn.Linear(3, 4)",
        "class Block(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "    def forward(self, x):\n        return x",
        "print('the frame of a window is its border')",
    ],
)
def test_ordinary_code_is_not_flagged(code):
    assert findings(code) == []


def test_only_top_level_imports_are_protected():
    names = imported_names("import time\ndef _hidden():\n    import torchvision.models.densenet as dn\n    return dn\n")
    assert names == {"time": ("time", None)}
