"""The runtime half of NO LOOPS: a loop-free function runs the same number of lines of the student's
code whatever the size of its input, so count them as each input dimension grows.

The count is of line events (`sys.settrace`) in frames of student code only: a loop hidden behind
getattr, exec, functools.reduce over a lambda, a decorator, a helper module or recursion still runs
more of the student's lines for a larger input; library code (numpy, torch, the course's helpers) is
not counted. What counts as library code is decided by the code object itself, never by the file name
it claims (`compile(loop, numpy.__file__, "exec")` is still counted): see `library_code_check`. Inside a
graded kernel this runs under the integrity guard, which ends the kernel if student code touches the
trace function. Standard library only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from types import CodeType, FrameType


def library_code_check(is_library_file: Callable[[str], bool]) -> Callable[[CodeType], bool]:
    """A test of whether a code object is genuinely a library's: its file is a library file and the file
    (its cached bytecode, or its source compiled afresh) holds an equal code object. Everything it uses
    is bound when it is made, so that code running later cannot change its answer."""
    import _imp
    import marshal

    _loads, _compile, _open, _type, _cache_tag = marshal.loads, compile, open, type, sys.implementation.cache_tag
    codes_of_file: dict[tuple[str, str], frozenset] = {}
    verdicts: dict[CodeType, bool] = {}

    def nested(module_code) -> frozenset:
        found, stack = set(), [module_code] if _type(module_code) is CodeType else []
        while stack:
            code = stack.pop()
            found.add(code)
            stack.extend(item for item in code.co_consts if _type(item) is CodeType)
        return frozenset(found)

    def codes_in(filename: str, how: str) -> frozenset:
        key = (filename, how)
        if key not in codes_of_file:
            module_code = None
            try:
                if how == "frozen":
                    module_code = _imp.get_frozen_object(filename[len("<frozen "):-1])
                elif how == "cached":
                    folder, _, base = filename.rpartition("/")
                    stem = base[:-3] if base.endswith(".py") else base
                    with _open(f"{folder}/__pycache__/{stem}.{_cache_tag}.pyc", "rb") as handle:
                        module_code = _loads(handle.read()[16:])
                else:
                    with _open(filename, "rb") as handle:
                        module_code = _compile(handle.read(), filename, "exec", dont_inherit=True)
            except Exception:  # noqa: BLE001 - no bytecode to compare with: not shown to be the library's
                module_code = None
            codes_of_file[key] = nested(module_code)
        return codes_of_file[key]

    def is_library_code(code: CodeType) -> bool:
        verdict = verdicts.get(code)
        if verdict is None:
            filename = code.co_filename
            if filename.startswith("<frozen "):
                verdict = code in codes_in(filename, "frozen")
            else:
                verdict = is_library_file(filename) and (code in codes_in(filename, "cached")
                                                         or code in codes_in(filename, "source"))
            verdicts[code] = verdict
        return verdict

    return is_library_code

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
