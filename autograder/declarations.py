"""The NO LOOPS declaration each source notebook carries, read without running the notebook.

A notebook declares its loop-free functions once, in the locked code cell whose nbgrader grade_id
is `no_loops_declaration`, as a literal dict::

    NO_LOOPS = {
        "conv_output_size": {
            "guards": ["vgg_conv_output_size_visible", "vgg_conv_output_size_hidden"],
            "probe": "lambda n: (np.arange(16, 16 + n), 3, 2, 1, 1)",
        },
    }

`guards` are the grade_ids whose points a loop costs; `probe` builds the function's arguments for
an input of size `n` (numpy as np, torch and torch.nn.functional as F are in scope), so the
grader can count the Python lines the function runs at two sizes.
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
        probe = ast.parse(entry["probe"], mode="eval").body
        if not isinstance(probe, ast.Lambda) or len(probe.args.args) != 1:
            raise DeclarationError(f"{label}: the probe of {name!r} must be a one-argument lambda")
        declared.append(LoopFreeFunction(name, tuple(entry["guards"]), entry["probe"]))
    return declared


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
