"""Static detection of Python-level iteration for the NO LOOPS rule.

One engine serves two callers: `course.checks.assert_no_loops` inspects live function objects
inside a student's kernel, and the autograder inspects the code cells of a submitted notebook
without running them. Both follow calls into other functions the student wrote, so a loop moved
into a helper is still found.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import sys
import sysconfig
import textwrap
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Calls that iterate over elements in Python, by the name they are called with.
ITERATING_BUILTINS = {"map", "filter", "reduce", "exec", "eval", "compile"}
# Attribute calls that iterate in Python whatever object they hang off (np.vectorize, ...).
ITERATING_ATTRIBUTES = {
    "vectorize",
    "apply_along_axis",
    "apply_over_axes",
    "frompyfunc",
    "fromiter",
    "apply_",
    "map_",
    "map2_",
    "map",  # multiprocessing.dummy.Pool().map, Executor.map, pandas' .map: a Python loop in a library
    "imap",
    "imap_unordered",
    "starmap",
    "map_async",
    "starmap_async",
}
# Modules whose every function is an iteration helper.
ITERATING_MODULES = {"itertools"}
# Names only code that hides a loop from the runtime count needs: it looks at the interpreter's tracing.
TRACING_NAMES = {"gettrace", "settrace", "getprofile", "setprofile", "_getframe", "f_trace", "f_trace_lines",
                 "f_trace_opcodes", "monitoring", "currentframe", "_current_frames"}
# Names that reach code by a computed name, which no reader of the source can follow.
COMPUTED_NAMES = {"__import__", "import_module", "globals", "vars", "locals", "__dict__", "__code__",
                  "__builtins__", "__getattribute__", "attrgetter", "methodcaller"}
_BY_NAME = {"getattr", "setattr", "delattr", "hasattr"}

_COMPREHENSIONS = {
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
}
_LOOPS = {ast.For: "for loop", ast.AsyncFor: "async for loop", ast.While: "while loop"}


@dataclass(frozen=True)
class LoopViolation:
    """One Python-level iteration found in a NO LOOPS function or in a function it calls."""

    function: str  # the declared loop-free function
    where: str  # the function whose body holds the construct (the same, or a callee)
    line: int  # line within `where`'s definition, 1 being its first (decorator or `def`) line
    construct: str  # e.g. "for loop", "list comprehension", "call to map()", "recursion"
    code: str  # the offending source line, stripped
    origin: str = ""  # where `where` was defined, e.g. "code cell 12"

    def __str__(self) -> str:
        place = f"line {self.line} of `{self.where}`"
        if self.origin:
            place += f" ({self.origin})"
        via = "" if self.where == self.function else f", which `{self.function}` calls"
        return f"`{self.function}` must not loop: {self.construct} at {place}{via}: {self.code}"


@dataclass
class Definition:
    """A function (or method) definition together with where its text came from."""

    qualname: str
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    lines: list[str]  # the definition's own source lines, decorators first
    first_line: int  # line number of lines[0] within the parsed text
    origin: str = ""

    def line_text(self, lineno: int) -> str:
        index = lineno - self.first_line
        return self.lines[index].strip() if 0 <= index < len(self.lines) else ""


Resolver = Callable[[Definition, ast.Call], "Definition | None"]


def _construct_of(node: ast.AST) -> str | None:
    """Name the iteration `node` performs (or the construct that keeps a reader from seeing whether it
    iterates), or None if it performs none."""
    for kind, label in {**_LOOPS, **_COMPREHENSIONS}.items():
        if isinstance(node, kind):
            return label
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
    if name in TRACING_NAMES:
        return f"a look at the interpreter's tracing (`{name}`), which only code hiding a loop needs"
    if name in COMPUTED_NAMES:
        return f"code reached by a computed name (`{name}`), which the check cannot follow"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _BY_NAME \
            and not (len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
                     and isinstance(node.args[1].value, str)):
        return f"{node.func.id}() with a computed name, which the check cannot follow"
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        if node.id in ITERATING_BUILTINS:
            return f"call to {node.id}()"
    if isinstance(node, ast.Attribute):
        base = node.value
        if isinstance(base, ast.Name) and base.id in ITERATING_MODULES:
            return f"call to {base.id}.{node.attr}()"
        if node.attr in ITERATING_ATTRIBUTES:
            return f"call to .{node.attr}()"
        if isinstance(base, ast.Name) and base.id == "functools" and node.attr == "reduce":
            return "call to functools.reduce()"
    return None


def _body_nodes(definition: Definition) -> Iterable[ast.AST]:
    """Every node of a definition: decorators, defaults and body, nested functions included."""
    node = definition.node
    roots: Sequence[ast.AST]
    if isinstance(node, ast.Lambda):
        roots = [node.body]
    else:
        roots = [*node.decorator_list, *node.body, *node.args.defaults, *node.args.kw_defaults]
    for root in roots:
        if root is not None:
            yield from ast.walk(root)


def find_loops(entry: Definition, resolve: Resolver, aliases: dict[str, str] | None = None,
               unreadable: dict[str, str] | None = None) -> list[LoopViolation]:
    """All iteration in `entry` and in the functions it (transitively) calls, recursion included.

    Decorators count as calls (a loop in a wrapper runs on every call); `aliases` are other names the
    code gave to iterating builtins (`m = map`, `from functools import reduce as fold`); `unreadable`
    names code the check cannot read (name -> why), which counts as a violation where it is used.
    """
    violations: list[LoopViolation] = []
    seen: set[str] = set()
    aliases = aliases or {}
    unreadable = unreadable or {}

    def visit(definition: Definition, stack: tuple[str, ...]) -> None:
        seen.add(definition.qualname)
        decorators = [ast.Call(func=d, args=[], keywords=[], lineno=d.lineno, col_offset=d.col_offset)
                      for d in getattr(definition.node, "decorator_list", [])
                      if isinstance(d, (ast.Name, ast.Attribute))]
        for node in [*_body_nodes(definition), *decorators]:
            construct = _construct_of(node)
            if construct is None and isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                    and node.id in aliases:
                construct = f"call to {aliases[node.id]}() (named `{node.id}`)"
            if construct is None and isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                    and node.id in unreadable:
                construct = f"use of {unreadable[node.id]}"
            if construct is not None:
                violations.append(_violation(entry, definition, node, construct))
            if not isinstance(node, ast.Call):
                continue
            callee = resolve(definition, node)
            if callee is None:
                continue
            if callee.qualname in stack or callee.qualname == definition.qualname:
                violations.append(_violation(entry, definition, node, "recursion"))
            elif callee.qualname not in seen:
                visit(callee, (*stack, definition.qualname))

    visit(entry, ())
    return violations


def _violation(entry: Definition, where: Definition, node: ast.AST, construct: str) -> LoopViolation:
    lineno = getattr(node, "lineno", where.first_line)
    return LoopViolation(
        function=entry.qualname,
        where=where.qualname,
        line=lineno - where.first_line + 1,
        construct=construct,
        code=where.line_text(lineno),
        origin=where.origin,
    )


# --- Definitions from source text (the autograder's view of a submitted notebook) -------------


class SourceDefinitions:
    """Functions, classes and methods of several code blocks (cells); later definitions win.

    Definitions inside top-level `if`, `try`, `with` and loop blocks count (either branch may be the one
    that ran), instances made at the top level (`f = Looper()`) call their class's `__call__`, and other
    names given to iterating builtins are remembered.
    """

    def __init__(self, is_library_module: Callable[[str], bool] | None = None) -> None:
        self.functions: dict[str, Definition] = {}
        self.classes: dict[str, dict[str, Definition]] = {}
        self.instances: dict[str, str] = {}  # name -> class, for `name = Class(...)`
        self.aliases: dict[str, str] = {}  # name -> the iterating builtin it stands for
        self.modules: dict[str, str] = {}  # name -> the module an import bound to it
        self.module_sources: dict[str, SourceDefinitions] = {}  # modules shipped beside the notebook, parsed
        self.is_library_module = is_library_module or installed_module

    def add_module_source(self, module: str, source: str) -> None:
        """Parse a module that sits beside the notebook (`helpers.py`), so calls into it are followed."""
        parsed = SourceDefinitions(self.is_library_module)
        parsed.add_source(source, origin=f"{module}.py")
        self.module_sources[module] = parsed

    def add_modules_beside(self, folder: str | Path | None, limit: int = 50) -> None:
        """Parse the `.py` files in a notebook's folder (at most `limit`; unparsable ones are left unread)."""
        if not folder or not Path(folder).is_dir():
            return
        for path in sorted(Path(folder).glob("*.py"))[:limit]:
            if path.is_file() and not path.is_symlink() and path.stat().st_size < 1_000_000:
                try:
                    self.add_module_source(path.stem, path.read_text(encoding="utf-8", errors="replace"))
                except (SyntaxError, ValueError, OSError):
                    continue

    def unreadable_modules(self) -> dict[str, str]:
        """Names bound to modules the check cannot read: neither installed nor shipped beside the notebook
        (a module the notebook writes at run time, say)."""
        return {name: module for name, module in self.modules.items()
                if module.split(".")[0] not in self.module_sources and not self.is_library_module(module)}

    def add_source(self, source: str, origin: str = "") -> None:
        """Parse one block (a cell) and record what it defines; raises SyntaxError if it can't."""
        tree = ast.parse(source)
        lines = source.splitlines()
        for node in _statements(tree.body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = _definition(node.name, node, lines, origin)
                self.classes.pop(node.name, None)
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = {
                    item.name: _definition(f"{node.name}.{item.name}", item, lines, origin)
                    for item in node.body
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                }
                self.functions.pop(node.name, None)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if not isinstance(target, ast.Name):
                        continue
                    value = node.value
                    if isinstance(value, ast.Lambda):
                        self.functions[target.id] = _definition(target.id, value, lines, origin)
                    elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                            and value.func.id in self.classes:
                        self.instances[target.id] = value.func.id
                    elif isinstance(value, ast.Name) and value.id in self.functions:
                        self.functions[target.id] = self.functions[value.id]
                    elif isinstance(value, (ast.Name, ast.Attribute)) and _construct_of(value) is not None:
                        self.aliases[target.id] = _iterating_name(value)
            elif isinstance(node, ast.Import):
                for name in node.names:
                    bound = name.asname or name.name.split(".")[0]
                    self.modules[bound] = name.name if name.asname else name.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module in ("functools", "builtins", "itertools"):
                    for name in node.names:
                        if name.name in ITERATING_BUILTINS or node.module == "itertools":
                            self.aliases[name.asname or name.name] = f"{node.module}.{name.name}"
                local = self.module_sources.get(node.module)
                for name in node.names:
                    bound = name.asname or name.name
                    if local is not None and name.name in local.functions:
                        self.functions[bound] = local.functions[name.name]
                    elif local is None and not self.is_library_module(node.module):
                        self.modules[bound] = node.module

    def lookup(self, qualname: str) -> Definition | None:
        """The definition of `name` or `Class.method`, or None if the code defines no such thing."""
        if "." in qualname:
            cls, _, method = qualname.partition(".")
            return self.classes.get(cls, {}).get(method)
        return self.functions.get(qualname)

    def resolve(self, caller: Definition, call: ast.Call) -> Definition | None:
        func = call.func
        if isinstance(func, ast.Name):
            if func.id in self.classes:
                return self.classes[func.id].get("__init__")
            if func.id in self.instances:
                return self.classes.get(self.instances[func.id], {}).get("__call__")
            return self.functions.get(func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = func.value.id
            if owner in ("self", "cls") and "." in caller.qualname:
                return self.lookup(f"{caller.qualname.split('.')[0]}.{func.attr}")
            if owner in self.classes:
                return self.classes[owner].get(func.attr)
            local = self.module_sources.get(self.modules.get(owner, ""))
            if local is not None:
                return local.lookup(func.attr)
        return None

    def find_loops(self, qualname: str) -> list[LoopViolation]:
        """Loops in the declared function `qualname`; KeyError if the code does not define it."""
        entry = self.lookup(qualname)
        if entry is None and qualname in self.instances:
            entry = self.lookup(f"{self.instances[qualname]}.__call__")
        if entry is None:
            raise KeyError(qualname)
        unreadable = {name: f"module `{module}`, which is neither installed nor shipped beside the notebook, so "
                      "the check cannot read it" for name, module in self.unreadable_modules().items()}
        return find_loops(entry, self.resolve, self.aliases, unreadable)


@functools.lru_cache(maxsize=1024)
def installed_module(name: str) -> bool:
    """Whether `name` is a module this Python can import without the notebook (stdlib, site-packages,
    the course's packages)."""
    if name.split(".")[0] in sys.stdlib_module_names:
        return True
    try:
        return importlib.util.find_spec(name.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def _statements(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """Top-level statements, and those of top-level compound blocks (if/try/with/for/while), in order."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While)):
            yield from _statements([*node.body, *node.orelse])
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield from _statements(node.body)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            yield from _statements([*node.body, *(s for h in node.handlers for s in h.body), *node.orelse,
                                    *node.finalbody])


def _iterating_name(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else ast.unparse(node)


def _definition(qualname: str, node, lines: list[str], origin: str) -> Definition:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    end = node.end_lineno or node.lineno
    return Definition(qualname, node, lines[first - 1 : end], first, origin)


# --- Definitions from live objects (assert_no_loops inside a kernel) --------------------------


def _is_user_code(obj: object) -> bool:
    """True for functions written in a notebook or script, False for library code."""
    code = getattr(obj, "__code__", None)
    if code is None:
        return False
    filename = code.co_filename
    return "site-packages" not in filename and "dist-packages" not in filename and not (
        filename.startswith("<frozen") or filename.startswith(_PACKAGE_ROOTS) or filename.startswith(_STDLIB)
    )


# Python's standard library (`copy.deepcopy`, `re.sub`, `statistics.fmean` loop inside: not the student's).
_STDLIB = tuple(sorted({str(Path(sysconfig.get_paths()[key]).resolve()) + "/" for key in ("stdlib", "platstdlib")}))


# The course's helpers and this package, installed editable or not: their loops are not the student's.
_PACKAGE_ROOTS = tuple(
    str(path) + "/" for path in {Path(__file__).resolve().parents[1],
                                 *(Path(spec.origin).resolve().parent for spec in [importlib.util.find_spec("course")]
                                   if spec is not None and spec.origin)}
)


def _class_call(instance: object) -> object:
    """The `__call__` an instance's class defines (None if it defines none)."""
    return inspect.getattr_static(type(instance), "__call__", None)


def live_definition(func: Callable) -> Definition:
    """Parse the source of a live function or method into a Definition."""
    func = inspect.unwrap(func)
    if isinstance(func, (types.MethodType,)):
        func = func.__func__
    if not isinstance(func, (types.FunctionType, type)) and isinstance(_class_call(func), types.FunctionType):
        func = type(func).__call__  # an instance the tests call: its class's __call__ is what runs
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError) as error:
        raise ValueError(
            f"cannot read the source of {getattr(func, '__qualname__', func)!r}: {error}"
        ) from error
    source = textwrap.dedent(source)
    tree = ast.parse(source)
    node = next(
        n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
    )
    definition = _definition(func.__qualname__, node, source.splitlines(), "")
    definition.live = func  # type: ignore[attr-defined]
    return definition


def live_resolver(caller: Definition, call: ast.Call) -> Definition | None:
    """Resolve a call inside a live function to another user-written function, if it is one."""
    func = getattr(caller, "live", None)
    if func is None:
        return None
    namespace = func.__globals__
    target = None
    if isinstance(call.func, ast.Name):
        target = namespace.get(call.func.id)
        if isinstance(target, type):
            target = target.__dict__.get("__init__")
        elif target is not None and not isinstance(target, types.FunctionType) \
                and isinstance(_class_call(target), types.FunctionType):
            target = type(target).__call__  # an instance called like a function
    elif isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
        owner_name = call.func.value.id
        if owner_name in ("self", "cls") and "." in func.__qualname__:
            owner = namespace.get(func.__qualname__.split(".")[0])
        else:
            owner = namespace.get(owner_name)
        if isinstance(owner, type):
            target = inspect.getattr_static(owner, call.func.attr, None)
            if isinstance(target, (staticmethod, classmethod)):
                target = target.__func__
        elif isinstance(owner, types.ModuleType):
            target = owner.__dict__.get(call.func.attr)
    if target is None or not _is_user_code(target):
        return None
    try:
        return live_definition(target)
    except (ValueError, SyntaxError, StopIteration):
        return None


def find_loops_in_function(func: Callable) -> list[LoopViolation]:
    """Iteration in a live function and in the user-written functions it calls."""
    entry = live_definition(func)
    return find_loops(entry, live_resolver, _live_aliases(getattr(entry.live, "__globals__", {})))


def _live_aliases(namespace: dict) -> dict[str, str]:
    """Other names a namespace gave to iterating builtins (`m = map`, `from functools import reduce as fold`)."""
    import builtins
    import functools
    import itertools

    iterating = {id(getattr(builtins, name)): name for name in ITERATING_BUILTINS if hasattr(builtins, name)}
    iterating[id(functools.reduce)] = "functools.reduce"
    iterating.update({id(value): f"itertools.{name}" for name, value in vars(itertools).items() if callable(value)})
    return {name: iterating[id(value)] for name, value in list(namespace.items())
            if id(value) in iterating and not name.startswith("__")}
