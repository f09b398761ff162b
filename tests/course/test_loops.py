"""The NO LOOPS detector: every construct the rule names, in the function or in helpers it calls."""

import textwrap

import pytest

from course.loops import SourceDefinitions, find_loops_in_function


def loops_in(source: str, name: str = "f") -> list:
    definitions = SourceDefinitions()
    definitions.add_source(textwrap.dedent(source), origin="code cell 3")
    return definitions.find_loops(name)


CLEAN = """
import numpy as np, torch
def f(x, k):
    counts = torch.bincount(x.flatten(), minlength=k)
    return counts.reshape(k) / max(1, counts.sum())
"""


def test_whole_tensor_code_has_no_loops():
    assert loops_in(CLEAN) == []


@pytest.mark.parametrize(
    ("body", "construct"),
    [
        ("for i in range(3):\n        x = x + i", "for loop"),
        ("while x.sum() > 0:\n        x = x - 1", "while loop"),
        ("return [v * 2 for v in x]", "list comprehension"),
        ("return {v for v in x}", "set comprehension"),
        ("return {v: 1 for v in x}", "dict comprehension"),
        ("return sum(v for v in x)", "generator expression"),
        ("return list(map(abs, x))", "call to map()"),
        ("return list(filter(None, x))", "call to filter()"),
        ("return functools.reduce(lambda a, b: a + b, x)", "call to functools.reduce()"),
        ("return reduce(lambda a, b: a + b, x)", "call to reduce()"),
        ("return np.vectorize(lambda v: v + 1)(x)", "call to .vectorize()"),
        ("return np.apply_along_axis(np.sum, 0, x)", "call to .apply_along_axis()"),
        ("return np.frompyfunc(abs, 1, 1)(x)", "call to .frompyfunc()"),
        ("return x.apply_(lambda v: v + 1)", "call to .apply_()"),
        ("return x.map_(x, lambda a, b: a)", "call to .map_()"),
        ("return list(itertools.starmap(pow, x))", "call to itertools.starmap()"),
        ("exec('for i in x: pass')\n    return x", "call to exec()"),
        ("return eval('[v for v in x]')", "call to eval()"),
        ("return f(x[1:]) if len(x) else x", "recursion"),
    ],
)
def test_each_iterating_construct_is_found(body, construct):
    found = loops_in(f"def f(x):\n    {body}\n")
    assert [v.construct for v in found][:1] == [construct], found
    assert found[0].function == "f" and found[0].line >= 2


def test_a_loop_in_a_called_helper_is_found_and_named():
    found = loops_in(
        """
        def helper(x):
            out = []
            for v in x:
                out.append(v)
            return out

        def f(x):
            return helper(x)
        """
    )
    assert len(found) == 1
    violation = found[0]
    assert (violation.function, violation.where, violation.line) == ("f", "helper", 3)
    assert violation.code == "for v in x:"
    assert "which `f` calls" in str(violation) and "code cell 3" in str(violation)


def test_mutual_recursion_is_found():
    found = loops_in("def f(x):\n    return g(x)\ndef g(x):\n    return f(x - 1) if x else 0\n")
    assert [v.construct for v in found] == ["recursion"]


def test_nested_function_and_lambda_bodies_count():
    assert loops_in("def f(x):\n    def inner():\n        return [1 for _ in x]\n    return inner()\n")
    assert loops_in("def f(x):\n    g = lambda: [1 for _ in x]\n    return g()\n")


def test_methods_follow_self_calls_and_the_last_definition_wins():
    definitions = SourceDefinitions()
    definitions.add_source("class C:\n    def sample(self, n):\n        return self._draw(n)\n"
                           "    def _draw(self, n):\n        return [0] * n\n", "cell 1")
    assert definitions.find_loops("C.sample") == []
    definitions.add_source("class C:\n    def sample(self, n):\n        return self._draw(n)\n"
                           "    def _draw(self, n):\n        return [0 for _ in range(n)]\n", "cell 2")
    found = definitions.find_loops("C.sample")
    assert [(v.where, v.origin) for v in found] == [("C._draw", "cell 2")]


def test_undefined_function_raises_key_error():
    with pytest.raises(KeyError):
        loops_in("def g(x):\n    return x\n", "f")


def test_loops_outside_the_declared_function_do_not_count():
    assert loops_in("for i in range(3):\n    pass\ndef f(x):\n    return x + 1\n") == []


def test_decorators_and_default_arguments():
    assert loops_in("@staticmethod\ndef f(x, w=[i for i in range(3)]):\n    return x\n")
    found = loops_in("@np.vectorize\ndef f(x):\n    return x\n")
    assert [(v.construct, v.line, v.code) for v in found] == [("call to .vectorize()", 1, "@np.vectorize")]
    assert loops_in("@torch.no_grad()\ndef f(x):\n    return x\n") == []


def test_live_functions_follow_globals():
    # a real kernel registers each cell's text with linecache, as done here
    import linecache

    source = "def helper(x):\n    return [v for v in x]\ndef f(x):\n    return helper(x)\n"
    linecache.cache["<live-cell>"] = (len(source), None, source.splitlines(True), "<live-cell>")
    namespace = {}
    exec(compile(source, "<live-cell>", "exec"), namespace)
    found = find_loops_in_function(namespace["f"])
    assert [(v.where, v.construct) for v in found] == [("helper", "list comprehension")]
