"""The integrity guard inside every student kernel: it runs the instructor's cells, reports what student
code did to the testing machinery, and signs what it reports.

Installed by `autograder.sandbox.launch` before any code of the student's runs, it

- opens the integrity channel: a socket to the grader, which hands it a fresh key;
- adds an audit hook (`sys.addaudithook`; it cannot be removed) that reports, on the channel, what
  student code does to the kernel's machinery, and ends the kernel for what only an attack does
  (ctypes, walking the garbage collector's objects, installing trace functions, reading process
  memory, adding audit hooks, impersonating the guard);
- once the kernel is ready, records the genuine state of what tests rely on (builtins, the
  libraries' and the course's functions and classes, IPython's hooks, sys hooks, signal handlers)
  and provides `__autograder_test__()`, the one cell the grader sends in place of each of the
  instructor's cells.

The grader sends the instructor's code on the channel, never through the notebook: IPython's input
transformers, AST transformers, events, display hook and exception handlers never see it, `In`
and the history hold only `__autograder_test__()`, and linecache only visible tests. Before and after
each such cell the guard compares the recorded state with the live one, restores it and reports
every difference. A test's verdict is the message the guard signs when the instructor's code has run
to its end (or raised): outputs a student prints cannot forge it, and a message the student writes
on the channel fails the signature or breaks the sequence.

Everything the hook uses is bound in the closure of `_make_guard` when it is installed: rebinding a
builtin or a library function later changes nothing for it; it never calls an object the student
could have made, and never raises into student code. Standard library only.
"""

from __future__ import annotations

import os
import socket
import sys

TEST_FILENAME = "<autograder-test-"
PROBE_FILENAME = "<autograder-probe>"
KILLED_EXIT_CODE = 70  # the kernel's exit status when the guard ends it
VALUE_NAME = "__autograder_value__"  # where an instructor's cell leaves its final expression's value


class Guard:
    """What `launch.run_kernel` holds: nothing secret, only `kernel_ready(app)`, the call that completes
    the installation once IPython's shell exists (the guard checks that `run_kernel` makes it)."""

    def __init__(self, ready):
        self.kernel_ready = ready


def install(channel_path: str) -> Guard:
    """Connect to the grader's channel, take its key and configuration, and install the audit hook."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    connection.settimeout(60)
    connection.connect(channel_path)
    first = connection.recv(1 << 20)
    fields = first.split(b"\x00")
    if len(fields) < 2 or fields[0] != b"key":
        raise RuntimeError("the grader's integrity channel did not send its key")
    key = bytes.fromhex(fields[1].decode())
    config = {}
    for entry in fields[2:]:
        name, _, value = entry.decode("utf-8").partition("=")
        config.setdefault(name, []).append(value)
    connection.settimeout(None)
    hook, ready = _make_guard(connection, key, config)
    sys.addaudithook(hook)
    return Guard(ready)


def _make_guard(connection, key, config):  # noqa: C901 - one closure holds the guard's whole state
    import _hashlib
    import _signal
    import _thread
    import builtins
    import gc
    import types

    from autograder.noloops.probe import count_lines, library_code_check
    from autograder.noloops.probe import probe_function as probe_one

    # --- primitives, bound now ----------------------------------------------------------------
    _type, _len, _repr, _str, _all, _zip = type, len, repr, str, all, zip
    _isinstance, _tuple, _list, _dict, _set = isinstance, tuple, list, dict, set
    staticmethod, classmethod = builtins.staticmethod, builtins.classmethod  # noqa: A001 - bound now
    _bytes, _int, _float, _bool = bytes, int, float, bool
    _getframe, _current_frames, _audit = sys._getframe, sys._current_frames, sys.audit
    _settrace, _gettrace, _getprofile = sys.settrace, sys.gettrace, sys.getprofile
    _exit, _fstat, _getcwd, _getpid = os._exit, os.fstat, os.getcwd, os.getpid
    _get_ident, _lock = _thread.get_ident, _thread.allocate_lock()
    _hmac = _hashlib.hmac_digest
    _getsignal, _setsignal = _signal.getsignal, _signal.signal
    _getitimer, _setitimer = _signal.getitimer, _signal.setitimer
    _obj_getattr = object.__getattribute__
    _type_dict = type.__dict__["__dict__"].__get__
    _type_name = type.__dict__["__name__"].__get__
    _type_setattr, _type_delattr = type.__setattr__, type.__delattr__
    _module_setattr, _module_delattr = types.ModuleType.__setattr__, types.ModuleType.__delattr__
    _module_dict = types.ModuleType.__dict__["__dict__"].__get__
    _exec, _compile = builtins.exec, builtins.compile
    ModuleType, FunctionType, TracebackType, CodeType, MethodType, FrameType = (
        types.ModuleType, types.FunctionType, types.TracebackType, types.CodeType, types.MethodType,
        types.FrameType)
    _frame_code = types.FrameType.__dict__["f_code"].__get__
    # Libraries that read frames' code only to hand back names and line numbers (never the code object):
    # tracebacks and logging's caller lookup. And those that read defaults only to describe a signature.
    FRAME_SUMMARIES = ("/traceback.py", "/logging/__init__.py")
    SIGNATURE_READERS = ("/inspect.py",)
    _gc_callbacks = gc.callbacks
    _id = id
    _fn_code, _fn_set_code = (FunctionType.__dict__["__code__"].__get__, FunctionType.__dict__["__code__"].__set__)
    _fn_defaults, _fn_set_defaults = (FunctionType.__dict__["__defaults__"].__get__,
                                      FunctionType.__dict__["__defaults__"].__set__)
    _fn_kwdefaults, _fn_set_kwdefaults = (FunctionType.__dict__["__kwdefaults__"].__get__,
                                          FunctionType.__dict__["__kwdefaults__"].__set__)
    _fn_closure = FunctionType.__dict__["__closure__"].__get__
    _cell_type = _type((lambda: _id).__closure__[0])
    _cell_contents, _cell_set = (_cell_type.__dict__["cell_contents"].__get__,
                                 _cell_type.__dict__["cell_contents"].__set__)
    guarded_function_ids, guarded_class_ids = _set(), _set()
    _send, _recv, _settimeout = connection.send, connection.recv, connection.settimeout
    _fd = connection.fileno()
    _inode = _fstat(_fd).st_ino
    MISSING = object()

    library = _tuple(p.rstrip("/") + "/" for p in config.get("library", []) if p)
    OWN_NAMES = ("__autograder_test__", "__autograder_probe__", "__autograder_final__", "__autograder_snapshot__")
    guarded_modules = _tuple(config.get("module", []))
    guarded_classes_spec = _tuple(config.get("class", []))
    here_dir = os.path.dirname(__file__)
    launch_file = os.path.join(here_dir, "launch.py")
    proc_memory = {"mem", "pagemap", "kcore", "kmem", "port", "syscall"}
    process_events = {"os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty",
                      "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg"}
    introspection_events = {"sys._current_frames", "code.__new__", "socket.__new__", "marshal.loads",
                            "pickle.find_class", "sys._getframe"}
    escapes = {i: f"\\u{i:04x}" for i in range(32)}
    escapes.update({ord('"'): '\\"', ord("\\"): "\\\\"})

    sys_modules = sys.modules
    builtins_dict = _obj_getattr(builtins, "__dict__")
    sys_dict = _obj_getattr(sys, "__dict__")
    state = {"seq": 0, "ready": False, "snapshot": None, "shell": None, "protected": {}, "test": None,
             "kind": "", "during": [], "before": None, "sent": 0}
    baseline_app = [None]  # the kernel's app, for a new baseline after the instructor's setup cells
    graveyard = []  # what the guard takes out of a container is kept alive: no __del__ runs inside the hook
    busy = _set()
    failures = _set()
    our_codes = _set()

    # --- messages to the grader -----------------------------------------------------------------

    def encode(value):
        kind = _type(value)
        if value is None:
            return "null"
        if kind is _bool:
            return "true" if value else "false"
        if kind is _int or kind is _float:
            return _repr(value)
        if kind is _str:
            return '"' + value.translate(escapes) + '"'
        if kind is _list or kind is _tuple:
            return "[" + ",".join([encode(v) for v in value]) + "]"
        if kind is _dict:
            return "{" + ",".join([encode(k if _type(k) is _str else "?") + ":" + encode(v)
                                   for k, v in value.items()]) + "}"
        return encode("<" + _type_name(kind) + ">")

    def send(message_kind, **fields):
        with _lock:
            if _fstat(_fd).st_ino != _inode:  # the channel's descriptor was replaced under us
                _exit(KILLED_EXIT_CODE)
            state["seq"] += 1
            fields["seq"], fields["kind"] = state["seq"], message_kind
            body = encode(fields).encode("utf-8")
            try:
                _send(body + b"\n" + _hmac(key, body, "sha256").hex().encode())
            except OSError:
                _exit(KILLED_EXIT_CODE)

    def finding(text, frame=None):
        message = text + (f" ({describe(frame)})" if frame is not None else "")
        if state["test"] is not None:
            state["during"].append(message)
        if state["sent"] < 200:
            state["sent"] += 1
            send("finding", text=message, during=state["test"] or "")

    def notice(text, frame=None):
        """A flag for review that does not void the running test (what honest code can also do)."""
        if state["sent"] < 200:
            state["sent"] += 1
            send("finding", text=text + (f" ({describe(frame)})" if frame is not None else ""), during="")

    def kill(text, frame=None):
        send("killed", text=text + (f" ({describe(frame)})" if frame is not None else ""), during=state["test"] or "")
        _exit(KILLED_EXIT_CODE)

    # --- whose code is running ------------------------------------------------------------------

    def is_library(filename):
        return filename.startswith(library) or filename.startswith("<frozen ")

    def is_ours(filename):
        return filename.startswith(TEST_FILENAME) or filename == PROBE_FILENAME

    def is_student(frame):
        filename = frame.f_code.co_filename
        return not (is_library(filename) or is_ours(filename))

    is_library_code = library_code_check(is_library)

    def counted(frame):
        """Whether the NO LOOPS probe counts a frame's lines: all code but the libraries' own (checked by
        the code itself: a loop compiled under a library's file name, or under ours, is counted)."""
        return not is_library_code(frame.f_code)

    def describe(frame):
        code = frame.f_code
        return f"{code.co_name} at line {frame.f_lineno} of {code.co_filename}"

    def nearest_student(frame, skip=""):
        """The nearest frame of student code at or above `frame` (past frames of the `skip` folder)."""
        while frame is not None and skip and frame.f_code.co_filename.startswith(skip):
            frame = frame.f_back
        while frame is not None:
            if frame.f_code in runner_codes:  # above it: the grader's one-line call cell and IPython's own
                return None
            if is_student(frame):
                return frame
            if skip:
                return None
            frame = frame.f_back
        return None

    def direct(frame):
        return frame if frame is not None and is_student(frame) else None

    def our_frame_in(traceback):
        while traceback is not None:
            if traceback.tb_frame.f_code in our_codes:
                return True
            traceback = traceback.tb_next
        return False

    # --- containers, read without calling anything of the student's -------------------------------

    def plain_dict(d):
        """True when `d` is a dict whose keys are all exact str (lookups then run no student code)."""
        if _type(d) is not _dict:
            return False
        for k in d:
            if _type(k) is not _str:
                return False
        return True

    def same(a, b):
        """Identity, with bound methods equal when they bind the same function to the same object
        (`obj.method` makes a new one at each access)."""
        if a is b:
            return True
        return _type(a) is MethodType and _type(b) is MethodType and a.__func__ is b.__func__ \
            and a.__self__ is b.__self__

    def same_items(live, items):
        return _type(live) is _list and _len(live) == _len(items) and _all(same(a, b) for a, b in _zip(live, items))

    def put(d, name, value):
        graveyard.append(d.get(name, None))
        d[name] = value

    def take(d, name):
        graveyard.append(d.pop(name, None))

    def refill(live, items):
        graveyard.append(_list(live))
        live[:] = items

    def instance_dicts(obj):
        found = _obj_getattr(obj, "__dict__")
        traits = found.get("_trait_values", {}) if plain_dict(found) else {}
        return found, traits if plain_dict(traits) else {}

    def instance_value(obj, name):
        found, traits = instance_dicts(obj)
        return traits[name] if name in traits else found.get(name, MISSING)

    # --- the genuine state, and checking it -----------------------------------------------------

    def interesting(value):
        kind = _type(value)
        if kind is FunctionType or kind is ModuleType or _isinstance(value, type):
            return True
        return _type_name(kind) in ("builtin_function_or_method", "method_descriptor", "wrapper_descriptor",
                                    "getset_descriptor", "classmethod", "staticmethod", "property", "ufunc",
                                    "_ArrayFunctionDispatcher", "cython_function_or_method", "method")

    def guarded_class_list():
        found = []
        for spec in guarded_classes_spec:
            module_name, _, qualname = spec.partition(":")
            module = sys_modules.get(module_name)
            if module is None or _type(module) not in (ModuleType, GuardedModule):
                continue
            entries = _obj_getattr(module, "__dict__")
            if qualname == "*":
                found += [v for v in entries.values() if _isinstance(v, type)
                          and _type_dict(v).get("__module__") == module_name]
            elif _isinstance(entries.get(qualname), type):
                found.append(entries[qualname])
        return found

    # Module attributes their own library swaps and puts back around a block (`warnings.catch_warnings`),
    # possibly while a check runs; they only change how warnings are shown.
    SELF_MANAGED = {("warnings", "showwarning"), ("warnings", "_showwarnmsg_impl")}
    BUILTINS_IPYKERNEL_SETS = {"input", "raw_input", "_", "__", "___"}  # set by ipykernel/IPython per cell
    SYS_HOOKS = ("displayhook", "excepthook", "breakpointhook", "unraisablehook", "audit", "addaudithook",
                 "settrace", "setprofile", "gettrace", "getprofile", "_getframe", "meta_path", "path_hooks",
                 "stdout", "stderr", "stdin", "modules")
    SIGNALS = (14, 26, 27, 10, 12, 2, 15, 1)  # ALRM VTALRM PROF USR1 USR2 INT TERM HUP
    # (owner, name): lists IPython runs cell text and code through; owner "manager" is its TransformerManager.
    SHELL_LISTS = (("shell", "input_transformers_post"), ("shell", "ast_transformers"),
                   ("manager", "cleanup_transforms"), ("manager", "line_transforms"),
                   ("manager", "token_transformers"))
    SHELL_VALUES = ("displayhook", "display_pub", "display_trap", "compile", "custom_exceptions", "CustomTB",
                    "InteractiveTB", "SyntaxTB", "events", "history_manager", "_user_ns", "user_module",
                    "input_transformer_manager", "input_transformers_post", "ast_transformers")

    def snapshot(app):
        shell, kernel = app.shell, app.kernel
        for name in SHELL_VALUES:  # traits get their values on first use: use them once, now, before student code
            getattr(shell, name, None)
        events = instance_value(shell, "events")
        taken = {
            "builtins": _dict(builtins_dict), "sys": {name: sys_dict.get(name, MISSING) for name in SYS_HOOKS},
            "meta_path": _list(sys_dict["meta_path"]), "path_hooks": _list(sys_dict["path_hooks"]),
            "modules": {}, "classes": {}, "signals": {s: _getsignal(s) for s in SIGNALS},
            "gc_callbacks": _list(_gc_callbacks), "threads": _set(_current_frames()),
            "shell": shell, "kernel": kernel, "shell_class": _type(shell), "kernel_class": _type(kernel),
            "shell_lists": {},
            "shell_values": {n: instance_value(shell, n) for n in SHELL_VALUES},
            "events": {k: _list(v) for k, v in instance_dicts(events)[0].get("callbacks", {}).items()},
            "kernel_handlers": {n: _dict(instance_value(kernel, n)) for n in ("shell_handlers", "control_handlers")},
        }
        manager = instance_value(shell, "input_transformer_manager")
        for owner, name in SHELL_LISTS:
            found = instance_value(shell if owner == "shell" else manager, name)
            if _type(found) is _list:
                taken["shell_lists"][(owner, name)] = _list(found)
        for cls in (*_type(shell).__mro__[:4], *_type(kernel).__mro__[:3], GuardedModule, _type(manager)):
            taken["classes"][cls] = _dict(_type_dict(cls))
        shell_class = taken["classes"][_type(shell)]
        taken["shell_overrides"] = {k: v for k, v in instance_dicts(shell)[0].items()
                                    if _type(shell_class.get(k)) is FunctionType}
        for name in guarded_modules:
            module = sys_modules.get(name)
            if module is not None and _type(module) in (ModuleType, GuardedModule):
                entries = _obj_getattr(module, "__dict__")
                taken["modules"][name] = (module, {k: v for k, v in entries.items() if interesting(v)
                                                   and (name, k) not in SELF_MANAGED})
        for cls in guarded_class_list():
            taken["classes"][cls] = _dict(_type_dict(cls))
        taken["functions"] = functions_of(taken)
        guarded_function_ids.clear()
        guarded_function_ids.update(_id(f) for f, *_ in taken["functions"])
        guarded_class_ids.clear()
        guarded_class_ids.update(_id(c) for c in taken["classes"])
        return taken

    def function_state(function):
        """What a call of `function` depends on besides its globals: code, defaults, keyword defaults
        (a dict, changed in place without an audit event) and the contents of its closure's cells (checked
        for the course's own functions only: a library may cache a value in a closure cell on first use)."""
        kwdefaults = _fn_kwdefaults(function)
        closure = _fn_closure(function)
        return (function, _fn_code(function), _fn_defaults(function),
                _dict(kwdefaults) if _type(kwdefaults) is _dict else kwdefaults,
                _tuple(cell_value(c) for c in closure) if closure else ())

    def cell_value(cell):
        try:
            return _cell_contents(cell)
        except ValueError:  # an empty cell
            return MISSING

    def functions_of(taken):
        found, seen = [], _set()

        def add(value, label, depth=0):
            if _type(value) in (staticmethod, classmethod):
                value = _obj_getattr(value, "__func__")
            elif _type_name(_type(value)) == "_ArrayFunctionDispatcher":  # numpy's functions: a Python body inside
                value = _obj_getattr(value, "_implementation")
            if _type(value) is FunctionType and _id(value) not in seen:
                seen.add(_id(value))
                found.append((*function_state(value), label))
                if depth < 2:  # what a decorator wraps: `__wrapped__` and functions held in its closure
                    inner = _obj_getattr(value, "__dict__").get("__wrapped__") if plain_dict(
                        _obj_getattr(value, "__dict__")) else None
                    if inner is not None:
                        add(inner, f"{label}.__wrapped__", depth + 1)
                    for cell in _fn_closure(value) or ():
                        held = cell_value(cell)
                        if _type(held) is FunctionType:
                            add(held, f"{label} (the function it wraps)", depth + 1)

        for name, (_module, entries) in taken["modules"].items():
            for attribute, value in entries.items():
                add(value, f"{name}.{attribute}")
        for cls, entries in taken["classes"].items():
            for attribute, value in entries.items():
                if _type(attribute) is _str:
                    add(value, f"{_type_name(cls)}.{attribute}")
        return found

    def verify(quick=False):
        """Differences between the live state and the snapshot, each put back; [] when all is genuine.
        `quick` (as a check of the course's starts): builtins, sys, the guarded modules' names and the
        course's functions, not the classes, IPython and library functions (writes to those are audited)."""
        taken = state["snapshot"]
        if taken is None:
            return []
        found = []
        if not plain_dict(builtins_dict) or not plain_dict(sys_modules) or not plain_dict(sys_dict):
            return ["a key that is not a string was put into builtins, sys or sys.modules"]
        # First what can run student code in the middle of this check (signal handlers, timers), so that
        # nothing is changed again behind the check's back.
        for signum, handler in taken["signals"].items():
            if _getsignal(signum) is not handler:
                found.append(f"the handler of signal {signum} was changed")
                try:
                    graveyard.append(_setsignal(signum, handler))
                except (ValueError, OSError, TypeError):
                    pass
        if _getitimer(0)[0] or _getitimer(1)[0] or _getitimer(2)[0]:
            found.append("an interval timer is set")
            for which in (0, 1, 2):
                _setitimer(which, 0)
        for name, value in taken["builtins"].items():
            if name in BUILTINS_IPYKERNEL_SETS:
                continue
            if builtins_dict.get(name, MISSING) is not value:
                found.append(f"builtins.{name} was replaced or removed")
                put(builtins_dict, name, value)
        for name in _list(builtins_dict):
            if name not in taken["builtins"] and name not in BUILTINS_IPYKERNEL_SETS:
                found.append(f"builtins.{name} was added")
                take(builtins_dict, name)
        for name, value in taken["sys"].items():
            if not same(sys_dict.get(name, MISSING), value) and value is not MISSING:
                found.append(f"sys.{name} was replaced")
                put(sys_dict, name, value)
        for name in ("meta_path", "path_hooks"):
            if not same_items(sys_dict[name], taken[name]):
                found.append(f"sys.{name} was changed")
                refill(sys_dict[name], taken[name])
        if _gettrace() is not None or _getprofile() is not None:
            found.append("a trace or profile function is set")
        for name, (module, entries) in taken["modules"].items():
            if sys_modules.get(name) is not module:
                found.append(f"sys.modules[{name!r}] was replaced")
                put(sys_modules, name, module)
            if _type(module) is not GuardedModule and name in guarded_now:
                found.append(f"the module {name} lost its guard")
                _module_setattr(module, "__class__", GuardedModule)
            live = _obj_getattr(module, "__dict__")
            if not plain_dict(live):
                found.append(f"a key that is not a string was put into the module {name}")
                continue
            for attribute, value in entries.items():
                if live.get(attribute, MISSING) is not value:
                    found.append(f"{name}.{attribute} was replaced or removed")
                    put(live, attribute, value)
        for cls, entries in taken["classes"].items() if not quick else ():
            live = _type_dict(cls)
            for attribute in _list(live):
                if _type(attribute) is not _str:
                    continue
                if attribute not in entries:
                    found.append(f"{_type_dict(cls).get('__module__', '?')}.{_type_name(cls)}.{attribute} was added")
                    try:
                        graveyard.append(live[attribute])
                        _type_delattr(cls, attribute)
                    except (TypeError, AttributeError):
                        pass
            for attribute, value in entries.items():
                if live.get(attribute, MISSING) is not value:
                    found.append(f"{_type_dict(cls).get('__module__', '?')}.{_type_name(cls)}.{attribute} "
                                 "was replaced or removed")
                    try:
                        graveyard.append(live.get(attribute))
                        _type_setattr(cls, attribute, value)
                    except (TypeError, AttributeError):
                        pass
        for function, code, defaults, kwdefaults, cells, label in taken["functions"]:
            if quick and not label.startswith("course"):
                continue
            if _fn_code(function) is not code:
                found.append(f"the code of {label} was replaced")
                _fn_set_code(function, code)
            if _fn_defaults(function) is not defaults:
                found.append(f"the defaults of {label} were changed")
                _fn_set_defaults(function, defaults)
            live = _fn_kwdefaults(function)
            if (live is None) != (kwdefaults is None) or (live is not None and not (
                    plain_dict(live) and _len(live) == _len(kwdefaults)
                    and _all(live.get(k, MISSING) is v for k, v in kwdefaults.items()))):
                found.append(f"the keyword defaults of {label} were changed")
                _fn_set_kwdefaults(function, None if kwdefaults is None else _dict(kwdefaults))
            closure = _fn_closure(function)
            if cells and label.startswith("course") and (closure is None or _len(closure) != _len(cells) or not _all(
                    cell_value(c) is v for c, v in _zip(closure, cells))):
                found.append(f"the closure of {label} was changed")
                for cell, value in _zip(closure or (), cells):
                    if value is not MISSING:
                        _cell_set(cell, value)
        if quick:
            return found
        if not same_items(_gc_callbacks, taken["gc_callbacks"]):
            found.append("gc.callbacks was changed")
            refill(_gc_callbacks, taken["gc_callbacks"])
        found += verify_ipython(taken)
        for ident, frame in _current_frames().items():
            if ident in taken["threads"] or ident == _get_ident():
                continue
            while frame is not None:
                if is_student(frame):
                    found.append(f"a thread runs code written in the notebook ({describe(frame)})")
                    break
                frame = frame.f_back
        namespace = user_namespace()
        if namespace is not None:
            for name in OWN_NAMES:
                if name in namespace:
                    found.append(f"the notebook defines `{name}`, a name of the grader's")
                    graveyard.append(namespace.get(name))
                    take(namespace, name)
            for name, (value, _origin) in state["protected"].items():
                if namespace.get(name, MISSING) is not value:
                    found.append(f"`{name}` no longer refers to what the instructor's cell bound")
                    put(namespace, name, value)
        return found

    def verify_ipython(taken):
        shell, kernel = taken["shell"], taken["kernel"]
        if _type(shell) is not taken["shell_class"] or _type(kernel) is not taken["kernel_class"]:
            return ["the class of IPython's shell or kernel was changed"]
        found = []
        shell_dict, shell_traits = instance_dicts(shell)
        if not plain_dict(shell_dict):
            return ["a key that is not a string was put into IPython's shell"]
        manager = taken["shell_values"]["input_transformer_manager"]
        for (owner, name), items in taken["shell_lists"].items():
            holder = shell if owner == "shell" else manager
            live = instance_value(holder, name)
            if not same_items(live, items):
                found.append(f"IPython's {name} were changed")
                if _type(live) is _list:
                    refill(live, items)
                else:
                    holder_dict, holder_traits = instance_dicts(holder)
                    put(holder_traits if name in holder_traits else holder_dict, name, _list(items))
        for name, value in taken["shell_values"].items():
            if value is not MISSING and not same(instance_value(shell, name), value):
                found.append(f"IPython's {name} was replaced")
                put(shell_traits if name in shell_traits else shell_dict, name, value)
        callbacks = instance_dicts(taken["shell_values"]["events"])[0].get("callbacks", {})
        if plain_dict(callbacks):
            for event, registered in taken["events"].items():
                if not same_items(callbacks.get(event), registered):
                    found.append(f"IPython's {event} event callbacks were changed")
                    if _type(callbacks.get(event)) is _list:
                        refill(callbacks[event], registered)
        class_entries = taken["classes"][taken["shell_class"]]
        for name in _list(shell_dict):
            if _type(name) is _str and _type(class_entries.get(name)) is FunctionType \
                    and not same(shell_dict[name], taken["shell_overrides"].get(name, MISSING)):
                found.append(f"IPython's shell.{name} is overridden on the instance")
                if name in taken["shell_overrides"]:
                    put(shell_dict, name, taken["shell_overrides"][name])
                else:
                    take(shell_dict, name)
        kernel_dict = _obj_getattr(kernel, "__dict__")
        for name, handlers in taken["kernel_handlers"].items():
            live = kernel_dict.get(name, {})
            if not plain_dict(live) or _len(live) != _len(handlers) or not _all(
                    same(live.get(k, MISSING), v) for k, v in handlers.items()):
                found.append(f"the kernel's {name} were changed")
                put(kernel_dict, name, _dict(handlers))
        return found

    def user_namespace():
        shell = state["shell"]
        namespace = instance_value(shell, "_user_ns") if shell is not None else None
        return namespace if plain_dict(namespace) else None

    # --- modules that report writes ------------------------------------------------------------

    guarded_now = _set()

    class GuardedModule(ModuleType):
        """A module whose attribute writes and deletions, and reads of its `__dict__` (`vars(module)`),
        raise an audit event (so the hook sees them)."""

        @property
        def __dict__(self):
            _audit("autograder.module.dict", self)
            return _module_dict(self)

        def __setattr__(self, name, value):
            _audit("autograder.module.write", self, name)
            _module_setattr(self, name, value)

        def __delattr__(self, name):
            _audit("autograder.module.write", self, name)
            _module_delattr(self, name)

    def guard_modules():
        for name in guarded_modules:
            module = sys_modules.get(name)
            if module is not None and _type(module) is ModuleType:
                try:
                    _module_setattr(module, "__class__", GuardedModule)
                    guarded_now.add(name)
                except TypeError:
                    pass

    # --- the instructor's cells -----------------------------------------------------------------

    def describe_error(error):
        name = _type_name(_type(error))
        try:
            text = _str(error)
        except BaseException:  # noqa: BLE001 - an exception whose str() fails
            text = ""
        return name, text[:2000] if _type(text) is _str else ""

    def raised_where(error):
        """(file, line, function) of the innermost frame the exception passed through."""
        traceback = error.__traceback__
        while traceback is not None and traceback.tb_next is not None:
            traceback = traceback.tb_next
        if traceback is None:
            return ("", 0, "")
        code = traceback.tb_frame.f_code
        return (code.co_filename, traceback.tb_lineno, code.co_name)

    def shown_value(value):
        if value is None:
            return None
        try:
            text = _repr(value)
        except BaseException:  # noqa: BLE001
            return "<value>"
        return text[:1000] if _type(text) is _str else "<value>"

    def runner():
        """Run the instructor's cell the grader sent in place of this one, and report how it ended."""
        __tracebackhide__ = True  # noqa: F841 - IPython leaves this frame out of tracebacks
        box = [None, None, None, None]
        _audit("autograder.cell.begin", box)
        if box[0] is None:
            raise RuntimeError("__autograder_test__() only runs the cells the grader sends")
        (token, filename), namespace = box[0], box[1]
        # The cell's text and code are never bound to a name here: student code that walks up to this
        # frame (its locals are readable without an audit event) finds neither. It runs in the notebook's
        # own namespace, as nbgrader runs it: tests may delete or replace names the student's code uses.
        try:
            _exec(_compile(box.pop(2), filename, "exec", dont_inherit=True), namespace)
            value = namespace.pop(VALUE_NAME, None)
        except BaseException as error:
            name, text = describe_error(error)
            _audit("autograder.cell.end", token, "fail", None, name, text, raised_where(error))
            raise
        _audit("autograder.cell.end", token, "pass", shown_value(value), "", "", ("", 0, ""))
        return value

    def probe_runner():
        """Count the lines of student code the NO LOOPS functions run as each input dimension grows."""
        __tracebackhide__ = True  # noqa: F841
        box = [None, None]
        _audit("autograder.probe.begin", box)
        message, namespace = box
        if message is None:
            raise RuntimeError("__autograder_probe__() only runs when the grader asks for it")
        token, specs = message
        results = {name: probe_one(namespace, name, probe, ranges, counted, filename=PROBE_FILENAME,
                                   settrace=_settrace)
                   for name, probe, ranges in specs}
        _audit("autograder.probe.end", token, results)

    def final_runner():
        _audit("autograder.final")

    runner_codes = {runner.__code__: {"_audit": _audit, "_exec": _exec, "_compile": _compile,
                                      "describe_error": describe_error, "shown_value": shown_value,
                                      "raised_where": raised_where},
                    probe_runner.__code__: {"_audit": _audit, "probe_one": probe_one, "counted": counted,
                                            "_settrace": _settrace},
                    final_runner.__code__: {"_audit": _audit}}
    counter_code = count_lines.__code__

    # --- the grader's instructions --------------------------------------------------------------

    def receive(expected, timeout=10.0):
        """The grader's latest message (sent just before the cell that asks for it), as text fields; a
        message an earlier cell never took (its `__autograder_test__()` did not run) is dropped."""
        data = None
        try:
            _settimeout(timeout)
            data = _recv(1 << 24)
            _settimeout(0)
            while True:
                data = _recv(1 << 24)
        except OSError:
            pass
        finally:
            _settimeout(None)
        if not data:
            return None
        fields = data.split(b"\x00")
        if not fields or fields[0] != expected:
            return None
        return [f.decode("utf-8") for f in fields[1:]]

    def from_runner(frame, code=None):
        """True when `frame` is one of the guard's runners, with the primitives it was made with."""
        if frame is None or frame.f_code not in runner_codes or (code is not None and frame.f_code is not code):
            return False
        live = frame.f_locals
        return _all(live.get(name, MISSING) is value for name, value in runner_codes[frame.f_code].items())

    def on_cell_begin(args, origin):
        if not from_runner(origin, runner.__code__):
            kill("code written in the notebook impersonated the grader's test runner", nearest_student(origin))
        fields = receive(b"cell")
        if fields is None or _len(fields) != 6:
            finding("__autograder_test__() ran without an instruction from the grader (or it was intercepted)")
            return
        token, kind, visible, filename, body, last = fields
        differences = verify()
        namespace = user_namespace()
        state["test"], state["kind"], state["during"] = token, kind, []
        state["before"] = _dict(namespace) if namespace is not None else {}
        if visible == "1":
            cache = sys_modules.get("linecache")
            lines = _obj_getattr(cache, "__dict__").get("cache") if cache is not None else None
            if _type(lines) is _dict:
                lines[filename] = (_len(body), None, body.splitlines(True), filename)
        send("begin", token=token, cell=kind, findings=differences)
        args[0][:] = [(token, filename), namespace, body, last]

    def on_cell_end(args, origin):
        if not from_runner(origin, runner.__code__):
            kill("code written in the notebook impersonated the grader's test runner", nearest_student(origin))
        token, outcome, value, ename, evalue, (raised_file, raised_line, raised_in) = args
        if token != state["test"]:
            kill("the test runner reported a cell the grader did not start")
        kind = state["kind"]
        if kind == "setup" and outcome == "pass":
            # The instructor's setup, before any student code ran (`%matplotlib inline` registers an IPython
            # event, imports load modules): what it changed is the genuine state from now on.
            guard_modules()
            state["snapshot"] = snapshot(baseline_app[0])
            differences, during = [], []
        else:
            # What differs at the end changed while the instructor's code ran (all was put back before it):
            # the test ran on changed machinery, so it counts as changed during the test.
            differences = verify()
            during = state["during"] + differences
        before = state["before"] or {}
        differences = []
        namespace = user_namespace() or {}
        if outcome == "pass" and kind in ("locked", "setup"):
            for name, bound in namespace.items():
                if before.get(name, MISSING) is not bound and (
                        _isinstance(bound, type) or _type(bound) in (ModuleType, GuardedModule, FunctionType)):
                    state["protected"][name] = (bound, token)
        state["test"], state["during"], state["before"] = None, [], None
        by_student = _type(raised_file) is _str and bool(raised_file) and not (
            is_library(raised_file) or is_ours(raised_file))
        send("end", token=token, outcome=outcome, value=value, ename=ename, evalue=evalue,
             findings=differences, during=during, raised_by_student=by_student,
             raised_at=f"line {raised_line} of {raised_in}" if by_student and _type(raised_in) is _str else "")

    def on_probe_begin(args, origin):
        if not from_runner(origin, probe_runner.__code__):
            kill("code written in the notebook impersonated the grader's loop probe", nearest_student(origin))
        fields = receive(b"probe")
        if not fields:
            finding("__autograder_probe__() ran without an instruction from the grader (or it was intercepted)")
            return
        token, specs = fields[0], []
        for entry in fields[1:]:
            name, probe, *sizes = entry.split("\x01")
            ranges = {}
            for size in sizes:
                dimension, *ladder = size.split(":")
                ranges[dimension] = [_int(n) for n in ladder]
            specs.append((name, probe, ranges))
        differences = verify()
        state["test"], state["kind"], state["during"] = token, "probe", []
        send("begin", token=token, cell="probe", findings=differences)
        args[0][0] = (token, specs)
        args[0][1] = user_namespace()

    def on_probe_end(args, origin):
        if not from_runner(origin, probe_runner.__code__):
            kill("code written in the notebook impersonated the grader's loop probe", nearest_student(origin))
        token, results = args
        during = state["during"]
        state["test"], state["during"] = None, []
        send("probe", token=token, results=results if _type(results) is _dict else {}, during=during,
             findings=verify())

    def on_final(args, origin):
        if not from_runner(origin, final_runner.__code__):
            kill("code written in the notebook impersonated the grader's final check", nearest_student(origin))
        send("final", findings=verify())

    def on_ready(args, origin):
        caller = origin.f_back if origin is not None else None
        if state["ready"] or origin.f_code is not ready.__code__ or caller is None \
                or caller.f_code.co_filename != launch_file:
            kill("code written in the notebook impersonated the kernel's start", nearest_student(origin))
        app = args[0]
        state["shell"] = app.shell
        builtins_dict["__autograder_test__"] = runner
        builtins_dict["__autograder_probe__"] = probe_runner
        builtins_dict["__autograder_final__"] = final_runner
        builtins_dict["__autograder_snapshot__"] = snapshot_runner
        state["app"] = app
        state["ready"] = True
        send("ready", pid=_getpid())

    def snapshot_runner():
        """The grader's first request to a new kernel, before any notebook cell: record the genuine state
        while a cell runs (IPython changes builtins and sys hooks for the time of each cell)."""
        _audit("autograder.warden.snapshot")

    def on_snapshot(args, origin):
        if state["snapshot"] is not None or origin is None or origin.f_code is not snapshot_runner.__code__:
            kill("code written in the notebook impersonated the guard's first check", nearest_student(origin))
        import importlib

        for name in guarded_modules:  # the guarded parts of what is loaded, loaded now, while all is genuine
            if name.split(".")[0] in sys_modules and name not in sys_modules:
                try:
                    importlib.import_module(name)
                except Exception:  # noqa: BLE001 - not installed, or not importable here: nothing to guard
                    pass
        guard_modules()
        baseline_app[0] = state.pop("app")
        state["snapshot"] = snapshot(baseline_app[0])
        send("snapshot")

    protocol = {"autograder.cell.begin": on_cell_begin, "autograder.cell.end": on_cell_end,
                "autograder.probe.begin": on_probe_begin, "autograder.probe.end": on_probe_end,
                "autograder.final": on_final, "autograder.warden.ready": on_ready,
                "autograder.warden.snapshot": on_snapshot}

    # --- the audit hook -------------------------------------------------------------------------

    def library_path(path):
        if _type(path) is _bytes:
            path = path.decode("utf-8", "replace")
        return path is None or (_type(path) is _str and (path.startswith(library) or "/" not in path))

    def on_event(event, args, origin):
        handler = protocol.get(event)
        if handler is not None:
            handler(args, origin)
            return
        if not state["ready"]:
            return
        if event == "autograder.module.write":
            module_name = _module_dict(args[0]).get("__name__", "?")
            writer = origin.f_back if origin is not None else None
            if writer is None or writer.f_code.co_filename.startswith("<frozen importlib") \
                    or writer.f_code.co_filename == _module_dict(args[0]).get("__file__"):
                return  # an import binding a submodule, or a module setting its own attribute (warnings)
            student = nearest_student(writer)
            if student is not None:  # directly, or through a library that sets what it is told to (mock.patch)
                via = "" if student is writer else f", through {writer.f_code.co_filename}"
                finding(f"assigns {module_name}.{args[1]}{via}", student)
        elif event == "autograder.module.dict":
            # Read by the student's own code: a finding. Libraries read module namespaces all the time (torch.fx,
            # torch.overrides); a string that names `__dict__` for one to follow is the static scan's to flag.
            reader = origin.f_back if origin is not None else None
            if reader is not None and is_student(reader) and reader.f_code not in runner_codes:
                finding(f"reads the namespace of the module {_module_dict(args[0]).get('__name__', '?')}", reader)
        elif event == "autograder.check":  # a check of `course.checks` starts: nothing it relies on may differ
            for text in verify(quick=True):
                finding(f"{text} (found as a check of the course's started)")
        elif event.startswith("ctypes."):
            frame = nearest_student(origin, skip=ctypes_dir)
            if frame is not None or (event == "ctypes.dlopen" and not library_path(args[0] if args else None)):
                kill(f"uses ctypes ({event})", frame)
        elif event in ("gc.get_objects", "gc.get_referrers", "gc.get_referents"):
            if direct(origin) is not None:
                kill(f"walks the garbage collector's objects ({event})", origin)
        elif event in ("sys.settrace", "sys.setprofile"):
            if origin is None or origin.f_code is not counter_code:
                kill(f"installs a trace or profile function ({event})", nearest_student(origin))
        elif event == "sys.addaudithook":
            kill("adds an audit hook", nearest_student(origin))
        elif event == "open":
            path = args[0] if args else None
            if _type(path) is _bytes:
                path = path.decode("utf-8", "replace")
            if _type(path) is _str:
                name = path.rstrip("/").rsplit("/", 1)[-1]
                if name in proc_memory:
                    absolute = path if path.startswith("/") else _getcwd() + "/" + path
                    if absolute.startswith("/proc/"):
                        kill(f"opens {path} (process memory)", nearest_student(origin))
                    finding(f"opens a file named {name!r}", nearest_student(origin))
        elif event == "object.__getattr__" and origin is not None and origin.f_code in our_codes:
            pass  # the guard's own runner reading a traceback
        elif event == "object.__getattr__":
            obj, name = args[0], args[1]
            student = nearest_student(origin)
            if student is None:
                return
            if name == "tb_frame" and _type(obj) is TracebackType and our_frame_in(obj):
                kill("reads the frames of the grader's test runner", student)
            elif name == "__code__" and _type(obj) is FunctionType and _fn_code(obj) in our_codes:
                kill("reads the code of the grader's test runner", student)
            elif name == "f_code" and _type(obj) is FrameType and (
                    is_ours(_frame_code(obj).co_filename) or _frame_code(obj) in our_codes) \
                    and not origin.f_code.co_filename.endswith(FRAME_SUMMARIES):
                kill("reads the code of a test of the grader (a frame's f_code)", student)
            elif direct(origin) is not None:
                finding(f"reads .{name} (introspection)", origin)
            elif name in ("__code__", "__defaults__", "__kwdefaults__") and _id(obj) in guarded_function_ids \
                    and not origin.f_code.co_filename.endswith(SIGNATURE_READERS):
                notice(f"reads .{name} of a function the tests use, through {origin.f_code.co_filename}", student)
            elif name in ("tb_frame", "gi_frame", "cr_frame", "ag_frame") and state["test"] is not None:
                notice(f"reads frames (.{name}) while a test of the grader runs, through "
                       f"{origin.f_code.co_filename}", student)
        elif event in ("object.__setattr__", "object.__delattr__") and _id(args[0]) in guarded_class_ids \
                and nearest_student(origin) is not None:
            finding(f"changes {_type_name(args[0])}.{args[1]}, a class the tests use", nearest_student(origin))
        elif event == "object.__setattr__":
            obj, name = args[0], args[1]
            if name == "__class__" and _type(obj) is GuardedModule and nearest_student(origin) is not None:
                finding(f"changes the class of the module {_obj_getattr(obj, '__dict__').get('__name__')}",
                        nearest_student(origin))
            elif name == "__code__" and _type(obj) is FunctionType and obj.__code__ in our_codes:
                kill("replaces the code of the grader's test runner", nearest_student(origin))
            elif name == "__code__" and direct(origin) is not None:
                finding("replaces a function's __code__", origin)
        elif event in ("exec", "compile", "function.__new__"):
            code = args[0] if args else None
            filename = code.co_filename if _type(code) is CodeType else (
                args[1] if event == "compile" and _len(args) > 1 and _type(args[1]) is _str else "")
            if (filename and is_ours(filename)) or (_type(code) is CodeType and code in our_codes):
                frame = nearest_student(origin)
                if frame is not None and (origin is None or origin.f_code not in runner_codes
                                          and origin.f_code is not probe_code):
                    kill("compiles or runs code under the grader's name", frame)
            elif direct(origin) is not None:
                finding(f"uses {event}", origin)
        elif event in process_events:
            frame = nearest_student(origin)
            if frame is not None:
                finding(f"starts or signals a process ({event})", frame)
        elif event in introspection_events:
            frame = direct(origin)
            if frame is None and event == "sys._getframe" and origin is not None \
                    and origin.f_code.co_filename.endswith("/inspect.py"):
                frame = direct(origin.f_back)
            if frame is not None:
                finding(f"uses {event}", frame)
            elif event in ("sys._getframe", "sys._current_frames") and state["test"] is not None:
                student = nearest_student(origin)
                if student is not None and origin is not None:
                    notice(f"takes frames ({event}) while a test of the grader runs, through "
                           f"{origin.f_code.co_filename}", student)

    ctypes_dir = ""
    ctypes_module = sys_modules.get("ctypes")
    if ctypes_module is not None:
        ctypes_dir = os.path.dirname(_obj_getattr(ctypes_module, "__dict__").get("__file__") or "") + "/"
    probe_code = probe_one.__code__

    def hook(event, args):
        ident = _get_ident()
        if ident in busy:
            return
        busy.add(ident)
        try:
            try:
                origin = _getframe(1)
            except ValueError:  # raised from C with no Python frame above (e.g. at interpreter exit)
                origin = None
            on_event(event, args, origin)
        except BaseException as error:  # noqa: BLE001 - the hook never raises into the code that raised the event
            failed(event, error)
        finally:
            busy.discard(ident)

    def failed(event, error):
        """A failure of the guard itself is reported (once per kind): it is a reason to review, never silent."""
        kind = _type_name(_type(error))
        if (event, kind) in failures or _len(failures) > 20:
            return
        failures.add((event, kind))
        try:
            text = _str(error) if _type(error) in (TypeError, ValueError, KeyError, AttributeError, OSError,
                                                   IndexError, RuntimeError) else ""
        except BaseException:  # noqa: BLE001
            text = ""
        try:
            send("finding", text=f"the integrity guard failed on {event}: {kind}: {text}"[:500], during="")
        except BaseException:  # noqa: BLE001
            pass

    def ready(app):
        _audit("autograder.warden.ready", app)

    for function in (hook, on_event, runner, probe_runner, final_runner, count_lines, probe_one, receive, send,
                     verify, verify_ipython, snapshot, encode, on_cell_begin, notice,
                     on_cell_end, on_probe_begin,
                     on_probe_end, on_final, on_ready, on_snapshot, snapshot_runner, from_runner, raised_where,
                     finding, kill,
                     nearest_student, direct, ready,
                     GuardedModule.__setattr__, GuardedModule.__delattr__, _type_dict(GuardedModule)["__dict__"].fget,
                     function_state, functions_of, cell_value, counted):
        our_codes.add(function.__code__)

    return hook, ready
