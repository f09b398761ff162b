"""The NO LOOPS declaration each source notebook carries, read without running the notebook.

A notebook declares its loop-free functions once, in the locked code cell whose nbgrader grade_id
is `no_loops_declaration`, as a literal dict::

    NO_LOOPS = {
        "conv_output_size": {
            "guards": ["vgg_conv_output_size_visible", "vgg_conv_output_size_hidden"],
            "probe": "lambda n: (np.arange(16, 16 + n), 3, 2, 1, 1)",
        },
    }

`guards` are the grade_ids whose points a loop costs; `probe` builds the function's arguments from
one or more sizes (numpy as np, torch and torch.nn.functional as F are in scope). Each parameter of
the probe is one input dimension a loop could run over, e.g. `lambda n, k:` for an n x n label map
with k classes: the grader grows each dimension in turn, the others held at their small size, and
counts the lines of the student's code the function runs. Optional `sizes` sets a dimension's small
and large size (`{"k": [2, 12]}`); the others use the grader's default (4 and 32).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .cells import grade_id

DECLARATION_CELL = "no_loops_declaration"
VARIABLE = "NO_LOOPS"


@dataclass(frozen=True)
class LoopFreeFunction:
    name: str  # a top-level function, or "Class.method"
    guards: tuple[str, ...]
    probe: str
    dimensions: tuple[str, ...] = ("n",)  # the probe's parameters, one per input dimension
    sizes: tuple[tuple[str, int, int], ...] = ()  # (dimension, small, large) where not the default

    def size_ladder(self, dimension: str, default: tuple[int, int], steps: int = 4) -> list[int]:
        """The sizes the probe tries for one dimension: its small and large size and up to `steps - 2`
        sizes between them, spaced geometrically (4, 8, 16, 32)."""
        small, large = self.size_range(dimension, default)
        ladder = [round(small * (large / small) ** (i / (steps - 1))) for i in range(steps)]
        return sorted(set(ladder) | {small, large})

    def size_range(self, dimension: str, default: tuple[int, int]) -> tuple[int, int]:
        """The (small, large) sizes of one dimension of the probe."""
        for name, small, large in self.sizes:
            if name == dimension:
                return small, large
        return default


class DeclarationError(ValueError):
    """The notebook's NO LOOPS declaration is missing or malformed."""


def read_declaration(notebook: nbformat.NotebookNode, label: str = "notebook") -> list[LoopFreeFunction]:
    """The loop-free functions a (source) notebook declares; [] if it has no declaration cell."""
    cells = [c for c in notebook.cells if grade_id(c) == DECLARATION_CELL]
    if not cells:
        return []
    if len(cells) > 1:
        raise DeclarationError(f"{label}: {len(cells)} cells have grade_id {DECLARATION_CELL!r}; keep one")
    return parse_declaration(cells[0].source, label)


def parse_declaration(source: str, label: str = "notebook") -> list[LoopFreeFunction]:
    """The loop-free functions declared by the text of a declaration cell."""
    value = _assigned_literal(source, label)
    declared = []
    for name, entry in value.items():
        well_formed = isinstance(entry, dict) and isinstance(entry.get("guards"), list)
        if not well_formed or not isinstance(entry.get("probe"), str):
            raise DeclarationError(f"{label}: {VARIABLE}[{name!r}] needs a 'guards' list and a 'probe' string")
        try:
            probe = ast.parse(entry["probe"], mode="eval").body
        except SyntaxError as error:
            raise DeclarationError(f"{label}: the probe of {name!r} does not parse: {error.msg}") from error
        arguments = probe.args if isinstance(probe, ast.Lambda) else None
        if arguments is None or not arguments.args or arguments.vararg or arguments.kwarg or arguments.kwonlyargs \
                or arguments.defaults or arguments.posonlyargs:
            raise DeclarationError(f"{label}: the probe of {name!r} must be a lambda of one or more plain size "
                                   "parameters, e.g. 'lambda n, k: ...'")
        dimensions = tuple(a.arg for a in arguments.args)
        declared.append(LoopFreeFunction(name, tuple(entry["guards"]), entry["probe"], dimensions,
                                         _sizes(entry.get("sizes", {}), dimensions, name, label)))
    return declared


def _sizes(value, dimensions: tuple[str, ...], name: str, label: str) -> tuple[tuple[str, int, int], ...]:
    """The declaration's `sizes`: {dimension: [small, large]} with 1 <= small < large."""
    if not isinstance(value, dict):
        raise DeclarationError(f"{label}: the sizes of {name!r} must be a dict like {{'k': [2, 12]}}")
    found = []
    for dimension, pair in value.items():
        if dimension not in dimensions:
            raise DeclarationError(f"{label}: sizes of {name!r} names {dimension!r}, which is no probe parameter")
        valid = isinstance(pair, (list, tuple)) and len(pair) == 2 and all(type(v) is int for v in pair)
        if not valid or not 1 <= pair[0] < pair[1]:
            raise DeclarationError(f"{label}: sizes[{dimension!r}] of {name!r} must be [small, large] integers "
                                   "with 1 <= small < large")
        found.append((dimension, pair[0], pair[1]))
    return tuple(found)


def read_declaration_file(path: Path) -> list[LoopFreeFunction]:
    return read_declaration(nbformat.read(path, as_version=4), label=str(path))


def _assigned_literal(source: str, label: str) -> dict:
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise DeclarationError(f"{label}: the {DECLARATION_CELL} cell does not parse: {error}") from error
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == VARIABLE for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError as error:
                raise DeclarationError(f"{label}: {VARIABLE} must be a literal dict") from error
            if not isinstance(value, dict):
                raise DeclarationError(f"{label}: {VARIABLE} must be a dict")
            return value
    raise DeclarationError(f"{label}: the {DECLARATION_CELL} cell does not assign {VARIABLE}")
