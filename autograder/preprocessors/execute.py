"""nbgrader's Execute step, made to survive whatever a student submitted and to run the instructor's
cells through the kernel's integrity guard.

On top of nbgrader's per-cell timeout (the cell is interrupted and marked, execution goes on) it adds:
a time limit for the whole notebook; kernels confined by `autograder.sandbox`; a cap on each cell's
output while it runs; and recovery from a kernel that dies (os._exit, a crash, the guard ending it) or
ignores an interrupt: the kernel is restarted and the notebook re-run from the top with that cell
skipped, so everything else still earns its points.

The instructor's cells (tests, and locked cells such as the setup) are never sent as notebook code:
their code goes to the kernel's guard on the integrity channel and the cell runs `__autograder_test__()`
(see `autograder.sandbox.warden`). Each test's signed verdict, and everything the guard reported, is
left in `resources["autograder"]` for `ScoreTestCells` and the report.
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from time import monotonic

from IPython.core.inputtransformer2 import TransformerManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Int

from .. import events
from ..cells import add_error_output, grade_id
from ..files import UnsafeFile, kept_output_problem, read_regular
from ..sandbox.manager import SandboxedKernelManager, sandbox_plan, wants_gpu
from ..sandbox.settings import Sandbox
from ..sandbox.template import DISK_EXIT_CODE, MEMORY_EXIT_CODE
from ..sandbox.warden import KILLED_EXIT_CODE, TEST_FILENAME, VALUE_NAME

log = logging.getLogger(__name__)

TIMEOUT_ENAME = "CellTimeoutError"
RUNTIME_CELL = "autograder_runtime_checks"
CELL_CALL = "__autograder_test__()"
PROBE_CALL = "__autograder_probe__()"
SNAPSHOT_CALL = "__autograder_snapshot__()"
_TRANSFORMER = TransformerManager()


class _Restart(Exception):
    def __init__(self, index: int, ename: str, evalue: str, kind: str):
        super().__init__(evalue)
        self.index, self.ename, self.evalue, self.kind = index, ename, evalue, kind


def cell_kind(cell: NotebookNode) -> str:
    """'test' (an autograded test), 'locked' (the instructor's other code), 'probe' or 'student'."""
    if cell.get("metadata", {}).get("autograder") == RUNTIME_CELL:
        return "probe"
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.cell_type != "code" or meta.get("solution") or not meta.get("grade_id"):
        return "student"  # OverwriteCells took the grade id of any cell the gradebook does not know
    if meta.get("grade"):
        return "test"
    return "locked" if meta.get("locked") else "student"


def value_as_assignment(python: str) -> str:
    """The cell's code with its final expression assigned to `VALUE_NAME` (on the same lines), so that
    the guard can show the cell's value (nbgrader's partial credit) as IPython would, from one code
    object: nothing of the instructor's code is left in a variable while it runs."""
    tree = ast.parse(python)
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return python
    last = tree.body[-1]
    lines = python.splitlines(keepends=True)
    first, end = last.lineno - 1, last.end_lineno
    segment = ast.get_source_segment(python, last.value, padded=False) or ""
    before = lines[first].encode()[:last.col_offset].decode()
    after = lines[end - 1].encode()[last.end_col_offset:].decode()
    statement = f"{before}{VALUE_NAME} = ({segment}\n){after.rstrip(chr(10))}\n"
    return "".join(lines[:first]) + statement + "".join(lines[end:])


class GuardedExecute(Execute):
    """Execute with a notebook time limit, a sandboxed and guarded kernel, output caps and crash recovery."""

    notebook_timeout = Int(900, help="Seconds all cells of one notebook may take together.").tag(config=True)
    max_kernel_restarts = Int(3, help="Kernel deaths survived per notebook before giving up.").tag(config=True)
    max_output_bytes = Int(2**20, help="Output kept per cell while it runs; the rest is dropped.").tag(config=True)
    guard_timeout = Int(60, help="Seconds a kernel's integrity guard may take to report ready.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb: NotebookNode, resources, km=None):
        deadline = monotonic() + self.notebook_timeout
        skipped: dict[int, tuple[str, str]] = {}
        state = resources.setdefault("autograder", {})
        state["verdicts"], state["guarded"] = {}, True
        self._plan = sandbox_plan(Sandbox(parent=self), wants_gpu())
        not_kept: list[tuple[str, str]] = []
        with _scratch_directory(resources.get("metadata", {}).get("path"), self._plan.pool, not_kept) as (
                self._scratch, refill_scratch):
            for _attempt in range(self.max_kernel_restarts + 1):
                _clear_outputs(nb)
                state["verdicts"] = {}
                try:
                    self._run_all(nb, resources, km, skipped, deadline)
                    break
                except _Restart as restart:
                    refill_scratch()
                    skipped[restart.index] = (restart.ename, restart.evalue)
                    events.record(resources, restart.kind, restart.evalue, cell=restart.index,
                                  grade_id=grade_id(nb.cells[restart.index]))
            else:
                self._give_up(nb, skipped)
        for relative, why in not_kept:
            events.record(resources, events.FILE_NOT_KEPT, f"{relative}, written by the notebook, {why}",
                          file=relative)
        return nb, resources

    @staticmethod
    def _give_up(nb, skipped) -> None:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and not cell.get("outputs") and index not in skipped:
                add_error_output(cell, "KernelDied", "not run: the kernel died too many times in this notebook")
        for index, (ename, evalue) in skipped.items():
            add_error_output(nb.cells[index], ename, evalue)

    def _run_all(self, nb, resources, km, skipped, deadline) -> None:
        self._init_client(nb, km, resources)
        cell_timeout = self.timeout
        try:
            with self.setup_kernel():
                self._note_confinement(resources)
                info = self.wait_for_reply(self.kc.kernel_info())
                self.nb.metadata["language_info"] = info["content"]["language_info"]
                self._channel = self._guard_channel(resources)
                for index, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code" or not cell.source.strip():
                        continue
                    if index in skipped:
                        add_error_output(cell, *skipped[index])
                        continue
                    remaining = deadline - monotonic()
                    if remaining < 1:
                        self._stop_for_time(resources, index)
                        return
                    self.timeout = max(1, int(min(cell_timeout or remaining, remaining)))
                    self._run_cell(cell, resources, index)
        finally:
            self.timeout = cell_timeout

    def _guard_channel(self, resources):
        """The running kernel's integrity channel once its guard reported ready, or None (and why)."""
        channel = getattr(self.km, "channel", None)
        if channel is None:
            resources["autograder"]["guarded"] = False
            events.record(resources, events.UNGUARDED, "the kernel ran without the integrity guard: scores come "
                          "from its outputs, as in plain nbgrader")
            return None
        ready = channel.wait_for(lambda m: m.get("kind") == "ready", self.guard_timeout)
        self._student_ran = False  # a new kernel: the instructor's first locked cells are its setup
        if ready is not None:  # before any notebook cell: the guard records the genuine state
            self.wait_for_reply(self.kc.execute(SNAPSHOT_CALL, silent=True, store_history=False), None)
            ready = channel.wait_for(lambda m: m.get("kind") == "snapshot", self.guard_timeout)
        if ready is None:
            resources["autograder"]["guarded"] = False
            events.record(resources, events.TAMPERING, "the kernel's integrity guard did not report ready")
            return None
        channel.take()
        return channel

    def _init_client(self, nb, km, resources) -> None:
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.resources = {**resources, "metadata": {**resources.get("metadata", {}), "path": self._scratch}}
        self._output_bytes: dict[int, int] = {}
        self._truncated: set[int] = set()
        self._channel = None
        self._student_ran = False

    def _run_cell(self, cell, resources, index) -> None:
        kind = cell_kind(cell) if self._channel is not None else "student"
        token = secrets.token_hex(8)
        original = cell.source
        if kind == "student" and cell.cell_type == "code" and cell.source.strip():
            self._student_ran = True
        if kind in ("test", "locked"):
            kind = self._send_instructor_cell(cell, kind, token)
        elif kind == "probe":
            kind = self._send_probe(resources, token)
        if kind == "refused":  # the guard's channel took nothing: the cell is not run as plain (forgeable) code
            add_error_output(cell, "IntegrityError", "the kernel's integrity guard did not take this cell")
            events.record(resources, events.TAMPERING, "the kernel's integrity guard did not take this cell "
                          "(its channel is full or closed)", cell=index, grade_id=grade_id(cell))
            return
        if kind == "test" or kind == "locked":
            cell.source = CELL_CALL
        elif kind == "probe":
            cell.source = PROBE_CALL
        try:
            self.preprocess_cell(cell, resources, index)
        except DeadKernelError:
            killed = self._killed_reason(resources, index)
            if kind == "probe":
                resources["autograder"]["probe_failure"] = (
                    "the kernel died while the probe called it" + (f" ({killed})" if killed else ""))
            raise _Restart(index, "KernelDied", killed or "the kernel died while running this cell (os._exit, a "
                           "crash, or it was killed); the rest of the notebook was re-run without it",
                           events.KERNEL_DIED) from None
        except CellTimeoutError:
            raise _Restart(index, TIMEOUT_ENAME, f"this cell ran past {self.timeout} s and ignored the "
                           "interrupt; the kernel was restarted and the rest re-run without it",
                           events.UNRESPONSIVE) from None
        finally:
            cell.source = original
        if any(o.get("ename") == TIMEOUT_ENAME for o in cell.get("outputs", [])):
            events.record(resources, events.TIMEOUT, f"ran past {self.timeout} s and was interrupted",
                          cell=index, grade_id=grade_id(cell))
        if index in self._truncated:
            events.record(resources, events.OUTPUT_TRUNCATED,
                          f"printed more than {self.max_output_bytes} bytes", cell=index)
        if self._channel is not None:
            self._collect(resources, index, cell, kind, token)

    def _send_instructor_cell(self, cell, kind: str, token: str) -> str:
        """Hand the instructor's code to the guard; 'student' if it must run as a plain cell instead."""
        try:
            python = _TRANSFORMER.transform_cell(cell.source)
            body, last = value_as_assignment(python), ""
        except (SyntaxError, ValueError):
            return "student"  # it cannot compile: run it as it is, so its error shows as nbgrader shows it
        if "\x00" in python:
            return "student"
        visible = "BEGIN HIDDEN TESTS" not in cell.source
        filename = f"{TEST_FILENAME}{token}>"
        # Locked cells before any student code are the instructor's setup: the guard's baseline after them.
        wire_kind = "setup" if kind == "locked" and not self._student_ran else kind
        return kind if self._channel.send_cell(token, wire_kind, visible, filename, body, last) else "refused"

    def _send_probe(self, resources, token: str) -> str:
        specs = resources["autograder"].get("probe_specs", [])
        return "probe" if self._channel.send_probe(token, specs) else "refused"

    def _collect(self, resources, index, cell, kind: str, token: str) -> None:
        """Everything the guard said while this cell ran: the cell's verdict, findings, channel problems."""
        state = resources["autograder"]
        if kind in ("test", "locked", "probe"):
            wanted = "probe" if kind == "probe" else "end"
            self._channel.wait_for(lambda m: m.get("token") == token and m.get("kind") == wanted
                                   or m.get("kind") == "killed", 5)
        where = {"cell": index, "grade_id": grade_id(cell)}
        for message in self._channel.take():
            found = message.get("kind")
            if found == "finding" and not message.get("during"):
                events.record(resources, events.TAMPERING, f"at run time: {message.get('text')}", **where)
            elif found == "killed":
                events.record(resources, events.TAMPERING, f"the integrity guard stopped the kernel: "
                              f"{message.get('text')}", **where)
                state["killed"] = message.get("text", "")
            elif found in ("begin", "end", "probe", "final"):
                for text in message.get("findings", []):
                    events.record(resources, events.TAMPERING, f"before or after this cell: {text}", **where)
                for text in message.get("during", []) if found != "begin" else []:
                    events.record(resources, events.TAMPERING, f"while this cell ran: {text}", **where)
                if found == "end" and message.get("token") == token and kind == "test":
                    state["verdicts"][index] = message
                elif found == "probe" and message.get("token") == token:
                    state["probe_report"] = {"probes": message.get("results", {})}
        if kind == "probe" and "probe_report" not in state:
            state["probe_failure"] = ("the probe's cell ran, but the guard's probe did not: the notebook "
                                      "replaced or intercepted `__autograder_probe__`")
        for problem in self._channel.problems():
            events.record(resources, events.TAMPERING, f"integrity channel: {problem}", **where)
        if self._channel.closed and kind != "probe":
            events.record(resources, events.TAMPERING, "the integrity channel closed while the kernel ran", **where)
            self._channel = None

    def _killed_reason(self, resources, index) -> str:
        channel = self._channel
        if channel is None:
            return ""
        channel.wait_for(lambda m: m.get("kind") == "killed", 1)
        for message in channel.take():
            if message.get("kind") == "killed":
                events.record(resources, events.TAMPERING, f"the integrity guard stopped the kernel: "
                              f"{message.get('text')}", cell=index)
                return f"the integrity guard stopped the kernel: {message.get('text')}"
        code = getattr(getattr(self.km, "provisioner", None), "process", None)
        status = code.poll() if code is not None else None
        if status == KILLED_EXIT_CODE:
            return "the integrity guard stopped the kernel"
        limits = Sandbox(parent=self)
        if status == MEMORY_EXIT_CODE:
            return (f"the kernel was stopped: its processes together used more than "
                    f"{limits.memory_limit / 2**30:.1f} GiB of memory")
        if status == DISK_EXIT_CODE:
            return (f"the kernel was stopped: it wrote more than {limits.tmp_size / 2**30:.1f} GiB into its "
                    "working folder")
        return ""

    def _stop_for_time(self, resources, first_index: int) -> None:
        message = f"not run: the notebook reached its time limit of {self.notebook_timeout} s"
        for cell in self.nb.cells[first_index:]:
            if cell.cell_type == "code" and cell.source.strip():
                add_error_output(cell, "NotebookTimeout", message)
        events.record(resources, events.NOTEBOOK_TIMEOUT, message, cell=first_index)

    def _note_confinement(self, resources) -> None:
        if isinstance(self.km, SandboxedKernelManager) and not self.km.confined:
            events.record(resources, events.UNCONFINED,
                          f"kernel ran without the bubblewrap sandbox ({self.km.unconfined_reason})")

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxedKernelManager):
            km.work_dir = self._scratch
            km.use_gpu = wants_gpu()
        return km

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = used
        if used <= self.max_output_bytes or msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        if cell_index not in self._truncated:
            self._truncated.add(cell_index)
            note = NotebookNode(output_type="stream", name="stderr",
                                text=f"\n[autograder: output beyond {self.max_output_bytes} bytes dropped]\n")
            outs.append(note)
        return None


@contextlib.contextmanager
def _scratch_directory(notebook_dir: str | None, pool, not_kept: list | None = None):
    """A private working directory for one notebook's kernel holding the notebook folder's other files
    (the release's data files, as nbgrader puts them there); what the kernel writes there is copied
    back into the notebook's folder afterwards, as nbgrader keeps a notebook's side effects, except
    what `files.kept_output_problem` refuses (appended to `not_kept` with the reason)."""
    scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=pool.scratch)).resolve()
    pool.own(scratch)
    given: dict[str, tuple[int, int]] = {}
    try:
        _fill_scratch(scratch, notebook_dir, pool, given)
        yield str(scratch), lambda: _fill_scratch(scratch, notebook_dir, pool, given)
        if notebook_dir:
            dropped = _keep_side_effects(scratch, Path(notebook_dir), given)
            if not_kept is not None:
                not_kept.extend(dropped)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _fill_scratch(scratch: Path, notebook_dir: str | None, pool, given: dict[str, tuple[int, int]]) -> None:
    """Empty `scratch`, then copy the notebook folder's other files into it (what a kernel that was stopped
    wrote there, a folder filled to its limit say, is not there for the re-run)."""
    for entry in list(scratch.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    given.clear()
    if not notebook_dir:
        return
    for relative, path in _regular_files(Path(notebook_dir)):
        target = scratch / relative
        for folder in reversed(target.relative_to(scratch).parents[:-1]):
            if not (scratch / folder).is_dir():
                (scratch / folder).mkdir()
                pool.own(scratch / folder)
        shutil.copyfile(path, target)
        pool.own(target, 0o644)
        given[relative] = _stamp(target)


SIDE_EFFECT_BYTES = 64 * 2**20  # at most this much of what a notebook wrote is kept in autograded/
SIDE_EFFECT_FILES = 200


def _regular_files(root: Path):
    """(relative path, path) of the regular files under `root`, no links followed, notebooks left out."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not (Path(folder) / d).is_symlink() and not d.startswith("."))
        for name in sorted(files):
            path = Path(folder) / name
            if name.endswith(".ipynb") or name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            yield str(path.relative_to(root)), path


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _keep_side_effects(scratch: Path, notebook_dir: Path,
                       given: dict[str, tuple[int, int]]) -> list[tuple[str, str]]:
    """Files the kernel created or changed, bounded in number and size, copied as plain files, but none that
    `kept_output_problem` refuses (scripts for a browser, the grader's timestamp). Returns what was not
    kept and why."""
    kept, room, dropped = 0, SIDE_EFFECT_BYTES, []
    for relative, path in _regular_files(scratch):
        if given.get(relative) == _stamp(path):
            continue
        problem = kept_output_problem(relative)
        if problem:
            dropped.append((relative, problem))
            continue
        size = path.stat().st_size
        if kept >= SIDE_EFFECT_FILES or size > room:
            log.warning("side-effect file %s not kept (over %d files or %d bytes)", relative, SIDE_EFFECT_FILES,
                        SIDE_EFFECT_BYTES)
            dropped.append((relative, f"is not kept: over {SIDE_EFFECT_FILES} files or {SIDE_EFFECT_BYTES:,} bytes"))
            continue
        target = notebook_dir / relative
        if target.is_symlink() or (target.exists() and not target.is_file()):
            continue
        try:
            data = read_regular(path, room)
        except UnsafeFile:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        kept, room = kept + 1, room - size
    return dropped


def _clear_outputs(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
