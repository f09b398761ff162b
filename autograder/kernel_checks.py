"""Checks that run inside the student's kernel after the last cell (sent as the text of one cell).

1. Loop probes: a NO LOOPS function runs the same number of Python lines whatever its input size, so
   each declared function is called on its probe's inputs as each dimension grows while `sys.settrace` counts
   the lines executed in notebook code. More lines at the larger size means it iterates over its
   input, however the loop is hidden (getattr, exec, functools.reduce over a lambda, recursion...).
2. Integrity: the names the course's locked cells import (np, torch, assert_close, ...) must still be
   the genuine objects, and no function of numpy, torch, course or builtins may have been replaced
   by code written in the notebook.

The result is printed on one line after a marker carrying a nonce the student's code cannot know.
This module must stay self-contained: only the standard library at import time.
"""


def run_checks(specs, protected, marker):
    """Print `marker` and a JSON report of the loop probes and integrity findings.

    `specs` maps each declared function to (probe, {dimension: [small, large]}).
    """
    import json
    import sys

    namespace = get_ipython().user_ns  # noqa: F821 - defined inside IPython kernels
    own_file = run_checks.__code__.co_filename
    report = {"probes": {}, "tampering": _integrity(namespace, protected, own_file)}
    for name, (probe, ranges) in specs.items():
        report["probes"][name] = _probe(namespace, name, probe, ranges, own_file)
    sys.stdout.write(f"{marker} {json.dumps(report)}\n")
    sys.stdout.flush()


def _is_notebook_code(filename, own_file):
    """Cells are compiled from files in one ipykernel temporary folder; this cell is excluded."""
    import os

    return filename != own_file and os.path.dirname(filename) == os.path.dirname(own_file)


def _resolve(namespace, name):
    target = namespace
    for part in name.split("."):
        target = target[part] if isinstance(target, dict) else getattr(target, part)
    return target


def _count_lines(function, args, own_file):
    import sys

    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def calls(frame, event, arg):
        if event == "call" and _is_notebook_code(frame.f_code.co_filename, own_file):
            return local
        return None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        function(*args)
    finally:
        sys.settrace(previous)
    return count


def _probe(namespace, name, probe, ranges, own_file):
    """Lines run by `name` as each dimension of its probe grows, or the error that stopped the probe.

    `ranges` maps each probe parameter to its sizes, smallest first; while one dimension grows, the
    others stay at their smallest size.
    """
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    scope = dict(namespace, np=np, torch=torch, nn=nn, F=F)
    try:
        function = _resolve(namespace, name)
        make_args = eval(probe, scope)  # noqa: S307 - the probe comes from the instructor's notebook
        base = {dimension: sizes[0] for dimension, sizes in ranges.items()}
        _count_lines(function, make_args(**base), own_file)  # warm-up: first calls may set up caches
        found = {}
        for dimension, sizes in ranges.items():
            counts = [_count_lines(function, make_args(**dict(base, **{dimension: size})), own_file) for size in sizes]
            found[dimension] = {"sizes": list(sizes), "lines": counts}
    except BaseException as error:  # noqa: BLE001 - any failure is reported, never raised
        return {"error": f"{type(error).__name__}: {error}"[:300]}
    return {"dimensions": found}


def _integrity(namespace, protected, own_file):
    """Findings about replaced names, module attributes and builtins; [] when all is genuine."""
    import builtins
    import importlib
    import sys
    import types

    findings = []

    def written_here(obj):
        try:
            code = getattr(obj, "__code__", None) or getattr(getattr(obj, "__func__", None), "__code__", None)
            return code is not None and _is_notebook_code(code.co_filename, own_file)
        except BaseException:  # noqa: BLE001 - some library objects compute attributes lazily
            return False

    modules = set()
    for name, (module_name, attribute) in protected.items():
        try:
            module = importlib.import_module(module_name)
        except BaseException:  # noqa: BLE001
            findings.append(f"the module {module_name} cannot be imported any more")
            continue
        modules.add(module)
        genuine = getattr(module, attribute, None) if attribute else module
        bound = namespace.get(name, None)
        if bound is not genuine:
            findings.append(f"`{name}` no longer refers to {module_name}{'.' + attribute if attribute else ''}")
        if attribute is None and isinstance(bound, types.ModuleType):
            modules.add(bound)
    for module in list(modules) + [builtins]:
        for attribute, value in list(vars(module).items()):
            if written_here(value):
                findings.append(f"{module.__name__}.{attribute} was replaced by code written in the notebook")
    for module_name in sorted({module for module, _ in protected.values()}):
        module = sys.modules.get(module_name)
        origin = getattr(getattr(module, "__spec__", None), "origin", None)
        installed = origin in ("built-in", "frozen") or (origin and not _is_notebook_code(origin, own_file))
        if not isinstance(module, types.ModuleType) or not installed:
            findings.append(f"sys.modules[{module_name!r}] is not the installed module any more")
    return sorted(set(findings))
