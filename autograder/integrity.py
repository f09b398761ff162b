"""The static half of score integrity: what the submitted code does to the testing machinery, read
from its text outside the kernel (so nothing the student's code does at run time can hide it).

Every way Python offers to reach the machinery the tests rely on goes through a few doors: naming it
(`get_ipython`, `sys`, `builtins`, `gc`, `ctypes`, frames, code objects, closures), reaching an
attribute by a computed name (`getattr(x, name)`, `vars`, `__dict__`, `str.format` fields,
`operator.attrgetter`), or running code the scan cannot read (`exec`, `eval`, `compile`, `pickle`,
shell escapes, a module written to disk). Each use is a finding: a flag for a person to review, never a
change of score (the kernel's guard restores what was changed, and the tests score honestly).
"""

from __future__ import annotations

import ast
import re

from IPython.core.inputtransformer2 import TransformerManager

# Attributes that lead to frames, code, closures, namespaces or IPython's and the kernel's hooks.
INTROSPECTION_ATTRIBUTES = {
    "_getframe", "_current_frames", "currentframe", "getouterframes", "getinnerframes", "getclosurevars",
    "settrace", "setprofile", "gettrace", "getprofile", "addaudithook", "monitoring",
    "f_back", "f_globals", "f_locals", "f_code", "f_trace", "f_lineno", "f_builtins", "tb_frame", "tb_next",
    "gi_frame", "gi_code", "cr_frame", "ag_frame", "co_code", "co_consts", "co_names", "cell_contents",
    "history_manager", "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
    "ast_transformers", "set_custom_exc", "showtraceback", "_showtraceback", "displayhook", "excepthook",
    "run_cell", "run_code", "run_ast_nodes", "user_ns", "user_global_ns", "shell_handlers", "control_handlers",
    "display_pub", "get_referrers", "get_referents", "get_objects", "meta_path", "path_hooks",
    "setrecursionlimit", "set_trace", "breakpointhook", "unraisablehook", "_dynamo", "_C", "jit",
}
DUNDER_ATTRIBUTES = {
    "__globals__", "__builtins__", "__code__", "__closure__", "__dict__", "__subclasses__", "__bases__",
    "__base__", "__mro__", "__getattribute__", "__setattr__", "__delattr__", "__import__", "__loader__",
    "__spec__", "__self__", "__func__", "__wrapped__", "__reduce__", "__reduce_ex__", "__defaults__",
    "__kwdefaults__", "__traceback__", "__class_getitem__", "__init_subclass__",
}
# Methods through which an object decides what a test's comparison or conversion of it says.
ANSWERING_DUNDERS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__",
                     "__array__", "__array_ufunc__", "__array_function__", "__array_priority__", "__torch_function__",
                     "__float__", "__int__", "__index__", "__abs__", "__sub__", "__rsub__", "__instancecheck__",
                     "__subclasscheck__"}
INTROSPECTION_NAMES = {"_ih", "_oh", "_dh", "In", "Out", "__builtins__", "get_ipython", "__import__", "globals",
                       "vars", "exec", "eval", "compile", "breakpoint", "__autograder_test__",
                       "__autograder_probe__", "__autograder_final__", "__autograder_snapshot__"}
# Modules whose only use in a vision assignment would be to reach the machinery (any import is a finding).
MACHINERY_MODULES = {"builtins", "gc", "ctypes", "_ctypes", "importlib", "imp", "runpy", "code", "codeop", "marshal",
                     "pickle", "_pickle", "dill", "cloudpickle", "copyreg", "threading", "_thread", "multiprocessing",
                     "signal", "atexit", "faulthandler", "resource", "subprocess", "pty", "socket", "inspect", "dis",
                     "types", "traceback", "linecache", "sysconfig", "site", "ipykernel", "jupyter_client", "zmq",
                     "operator", "autograder", "nbgrader", "_signal", "_testcapi", "mmap", "fcntl", "posix",
                     "tracemalloc", "weakref", "pkgutil", "unittest"}
SAFE_SYS_ATTRIBUTES = {"version", "version_info", "platform", "maxsize", "float_info", "getsizeof", "byteorder",
                       "executable", "argv", "implementation", "getrecursionlimit", "stdout", "stderr"}
SAFE_OS_ATTRIBUTES = {"path", "getcwd", "listdir", "makedirs", "mkdir", "environ", "cpu_count", "sep", "walk",
                      "remove", "scandir", "stat", "getpid"}
ALLOWED_MAGICS = {"matplotlib", "timeit", "time", "precision", "pprint", "who", "whos", "lsmagic", "config"}
SECRETS = ("gradebook", "BEGIN HIDDEN", "HIDDEN TESTS", "/source/", "submitted/", "autograded/", "AUTOGRADER_",
           "autograder-pool", "warden")
_DUNDER_FIELD = re.compile(r"\{[^{}]*__\w+__")
# Attribute names that, written in a string, reach frames, code, closures or defaults by name
# (`pkgutil.resolve_name("m:f.__kwdefaults__")`, `operator.attrgetter("tb_frame.f_back")`).
_NAMED_IN_STRING = re.compile(r"(?<![\w])(%s)(?![\w])" % "|".join(sorted(
    DUNDER_ATTRIBUTES | ANSWERING_DUNDERS | {
        "f_back", "f_globals", "f_locals", "f_code", "f_builtins", "tb_frame", "tb_next", "gi_frame", "gi_code",
        "cr_frame", "ag_frame", "co_code", "co_consts", "co_names", "cell_contents", "_getframe", "_current_frames"})))
_TRANSFORMER = TransformerManager()


def python_source(cell_source: str) -> str | None:
    """A cell's text as Python (IPython's magics become calls); None if it cannot be read."""
    try:
        return _TRANSFORMER.transform_cell(cell_source)
    except Exception:  # noqa: BLE001 - IPython could not transform it: nothing to scan
        return None


def imported_names(source: str) -> dict[str, tuple[str, str | None]]:
    """Names bound by the top-level imports of `source`: `np` -> ("numpy", None), ...

    Imports inside functions (a test's local helpers) bind nothing in the notebook's namespace.
    """
    try:
        tree = ast.parse(python_source(source) or "")
    except SyntaxError:
        return {}
    names: dict[str, tuple[str, str | None]] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = (alias.name, None)
                else:
                    top = alias.name.split(".")[0]
                    names[top] = (top, None)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = (node.module, alias.name)
    return names


class _Scan(ast.NodeVisitor):
    def __init__(self, protected: dict[str, tuple[str, str | None]]):
        self.protected = protected
        self.modules = {module.split(".")[0] for module, _ in protected.values()} | {"builtins", "sys"}
        self.aliases: dict[str, str] = {}  # a name bound to a module (by any import, or `m = np.linalg`)
        self.found: list[str] = []

    def note(self, node, text):
        self.found.append(f"line {getattr(node, 'lineno', '?')}: {text}")

    def root(self, node):
        while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            node = node.func if isinstance(node, ast.Call) else node.value
        return node.id if isinstance(node, ast.Name) else None

    def is_module_like(self, name):
        return name in self.modules or name in self.protected or name in self.aliases

    # --- imports -------------------------------------------------------------------------------

    def visit_Import(self, node):
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            self._imported(node, alias.name, bound)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        for alias in node.names:
            module = f"{node.module or ''}"
            self._imported(node, f"{module}.{alias.name}" if module else alias.name, alias.asname or alias.name,
                           module=module)
        self.generic_visit(node)

    def _imported(self, node, full, bound, module=None):
        top = (module or full).split(".")[0]
        if top in MACHINERY_MODULES or full.split(".")[-1] in ("get_ipython", "getipython"):
            self.note(node, f"imports {full} (the kernel's machinery)")
        if top == "IPython" and not (module or full).startswith("IPython.display") and full != "IPython":
            self.note(node, f"imports {full} (IPython's machinery)")
        if bound in self.protected and not _same_object(full, self.protected[bound]):
            self.note(node, f"imports something else as `{bound}`, which the course imports for the tests")
        if module is None or full.split(".")[-1][:1].islower():
            self.aliases[bound] = full

    # --- bindings and writes -------------------------------------------------------------------

    def visit_FunctionDef(self, node):
        if node.name in self.protected:
            self.note(node, f"redefines `{node.name}`, which the course imports for the tests")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        if node.name in self.protected:
            self.note(node, f"redefines `{node.name}`, which the course imports for the tests")
        for statement in node.body:
            names = [statement.name] if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) else [
                t.id for t in getattr(statement, "targets", [getattr(statement, "target", None)])
                if isinstance(t, ast.Name)]
            for name in names:
                if name in ANSWERING_DUNDERS:
                    self.note(statement, f"class `{node.name}` defines `{name}` (its objects answer comparisons "
                                         "or conversions themselves, which a test relies on)")
        self.generic_visit(node)

    def visit_Assign(self, node):
        self._targets(node, node.targets)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and self._module_expression(node.value):
            self.aliases[node.targets[0].id] = ast.unparse(node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._targets(node, [node.target])
        self.generic_visit(node)

    visit_AnnAssign = visit_AugAssign

    def visit_Delete(self, node):
        self._targets(node, node.targets)
        self.generic_visit(node)

    def _module_expression(self, value) -> bool:
        return isinstance(value, (ast.Name, ast.Attribute)) and self.is_module_like(self.root(value))

    def _targets(self, node, targets):
        for target in targets:
            if isinstance(target, (ast.Tuple, ast.List)):
                self._targets(node, target.elts)
            elif isinstance(target, ast.Name) and target.id in self.protected:
                self.note(node, f"rebinds `{target.id}`, which the course imports for the tests")
            elif isinstance(target, (ast.Attribute, ast.Subscript)) and self.is_module_like(self.root(target)):
                self.note(node, f"assigns to `{ast.unparse(target)}`")
            elif isinstance(target, ast.Attribute) and target.attr in ("__class__", "__code__", "__dict__"):
                self.note(node, f"assigns to `{ast.unparse(target)}`")

    # --- reaching the machinery ----------------------------------------------------------------

    def visit_Name(self, node):
        if node.id in INTROSPECTION_NAMES:
            self.note(node, f"uses `{node.id}` (the kernel's machinery or code the scan cannot read)")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        root = self.root(node)
        if node.attr in DUNDER_ATTRIBUTES:
            self.note(node, f"uses `.{node.attr}` (introspection)")
        elif node.attr in INTROSPECTION_ATTRIBUTES:
            self.note(node, f"uses `.{node.attr}` (introspection of the running tests)")
        elif root == "sys" and isinstance(node.value, ast.Name) and node.attr not in SAFE_SYS_ATTRIBUTES:
            self.note(node, f"uses sys.{node.attr}")
        elif root == "os" and isinstance(node.value, ast.Name) and node.attr not in SAFE_OS_ATTRIBUTES:
            self.note(node, f"uses os.{node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        constant_name = len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
        if name in ("getattr", "setattr", "delattr", "hasattr") and isinstance(node.func, ast.Name):
            if not constant_name:
                self.note(node, f"calls {name}() with a computed name (the scan cannot see what it reaches)")
            elif isinstance(node.args[1].value, str) and (node.args[1].value in DUNDER_ATTRIBUTES
                                                          or node.args[1].value in INTROSPECTION_ATTRIBUTES):
                self.note(node, f"calls {name}(..., {node.args[1].value!r}) (introspection)")
            if name in ("setattr", "delattr") and node.args and self.root(node.args[0]) not in ("self", "cls"):
                self.note(node, f"calls {name}() on `{ast.unparse(node.args[0])}`")
        elif name in ("attrgetter", "methodcaller", "getattr_static", "getmembers", "resolve_name"):
            self.note(node, f"calls {name}() (attribute access by name)")
        elif name in ("format", "format_map") and isinstance(node.func, ast.Attribute) and not (
                isinstance(node.func.value, ast.Constant) and not _DUNDER_FIELD.search(str(node.func.value.value))):
            self.note(node, f"calls .{name}() on a string the scan cannot read (format fields reach attributes)")
        elif name in ("run_line_magic", "run_cell_magic") and node.args and isinstance(node.args[0], ast.Constant):
            if node.args[0].value in ALLOWED_MAGICS and _is_get_ipython_call(node.func.value):
                for argument in (*node.args, *node.keywords):
                    self.visit(argument)
                return  # %matplotlib inline and the like: IPython's own get_ipython() call is expected
            self.note(node, f"runs the magic %{node.args[0].value}")
        elif name in ("system", "getoutput") and self.root(node.func) == "get_ipython":
            self.note(node, "runs a shell command")
        elif name == "open" and any(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                    and a.value.endswith((".py", ".pth", ".so")) for a in node.args):
            self.note(node, "opens a Python module or extension file (code the scan cannot read)")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            for secret in SECRETS:
                if secret in node.value:
                    self.note(node, f"mentions {secret!r}")
            if _DUNDER_FIELD.search(node.value):
                self.note(node, "a format string reaches a dunder attribute")
            elif (named := _NAMED_IN_STRING.search(node.value)) is not None:
                self.note(node, f"a string names `.{named.group(1)}` (introspection by name)")

    def visit_JoinedStr(self, node):
        self.generic_visit(node)


def _is_get_ipython_call(node) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython"


def _same_object(imported: str, expected: tuple[str, str | None]) -> bool:
    """`import numpy as np` again is harmless; binding something else to `np` is not."""
    wanted = expected[0] if expected[1] is None else f"{expected[0]}.{expected[1]}"
    same_leaf = imported.rsplit(".", 1)[-1] == wanted.rsplit(".", 1)[-1]
    return imported == wanted or (same_leaf and imported.split(".")[0] == wanted.split(".")[0])


def integrity_findings(tree: ast.AST, protected: dict[str, tuple[str, str | None]]) -> list[str]:
    """What the code of one cell does to the testing machinery, one line each; [] for ordinary code."""
    scan = _Scan(protected)
    scan.visit(tree)
    return sorted(set(scan.found))
