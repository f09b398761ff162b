"""The runtime half of NO LOOPS: a loop-free function runs the same number of lines of the student's
code whatever the size of its input, so count them as each input dimension grows.

The count is of line events (`sys.settrace`) in frames of student code only: a loop hidden behind
getattr, exec, functools.reduce over a lambda, a decorator, a helper module or recursion still runs
more of the student's lines for a larger input; library code (numpy, torch, the course's helpers) is
not counted. Inside a graded kernel this runs under the integrity guard, which ends the kernel if
student code touches the trace function. Standard library only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from types import FrameType

PROBE_ALIASES = (("np", "numpy"), ("torch", "torch"), ("nn", "torch.nn"), ("F", "torch.nn.functional"))


def count_lines(function: Callable, args: tuple, is_student: Callable[[FrameType], bool],
                settrace: Callable = sys.settrace) -> int:
    """Lines of student code run by `function(*args)`."""
    counts = [0]

    def local(frame, event, arg):
        if event == "line":
            counts[0] += 1
        return local

    def calls(frame, event, arg):
        if event == "call" and is_student(frame):
            return local
        return None

    settrace(calls)
    try:
        function(*args)
    finally:
        settrace(None)
    return counts[0]


def probe_function(namespace: Mapping, name: str, probe: str, ranges: Mapping[str, list[int]],
                   is_student: Callable[[FrameType], bool], *, filename: str = "<autograder-probe>",
                   settrace: Callable = sys.settrace) -> dict:
    """Lines `name` runs as each dimension of its probe grows (the others at their smallest size):
    {"dimensions": {d: {"sizes": [...], "lines": [...]}}}, or {"error": why the probe could not run}."""
    scope = dict(namespace)
    for alias, module_name in PROBE_ALIASES:
        if module_name in sys.modules:
            scope[alias] = sys.modules[module_name]
    try:
        target = namespace
        for part in name.split("."):
            target = target[part] if isinstance(target, Mapping) else getattr(target, part)
        make_args = eval(compile(probe, filename, "eval", dont_inherit=True), scope)  # noqa: S307 - the instructor's
        base = {dimension: sizes[0] for dimension, sizes in ranges.items()}
        count_lines(target, make_args(**base), is_student, settrace)  # warm-up: first calls may set up caches
        found = {}
        for dimension, sizes in ranges.items():
            counts = [count_lines(target, make_args(**dict(base, **{dimension: size})), is_student, settrace)
                      for size in sizes]
            found[dimension] = {"sizes": list(sizes), "lines": counts}
    except BaseException as error:  # noqa: BLE001 - reported: a probe that cannot run is a flag, never a pass
        try:
            text = str(error)
        except BaseException:  # noqa: BLE001
            text = ""
        return {"error": f"{type(error).__name__}: {text}"[:300]}
    return {"dimensions": found}
