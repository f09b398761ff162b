"""nbgrader's Execute step, made to survive whatever a student submitted.

On top of nbgrader's per-cell timeout (the cell is interrupted and marked, execution goes on) it adds:
a time limit for the whole notebook; kernels confined by `autograder.sandbox`; a cap on each cell's
output while it runs; and recovery from a kernel that dies (os._exit, segfault, killed) or ignores
an interrupt: the kernel is restarted and the notebook re-run from the top with that cell skipped,
so everything else still earns its points.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from time import monotonic

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Int, Unicode, default

from .. import events
from ..cells import add_error_output, grade_id
from ..sandbox import Sandbox, SandboxedKernelManager, kernel_template, wants_gpu

TIMEOUT_ENAME = "CellTimeoutError"


class _Restart(Exception):
    def __init__(self, index: int, ename: str, evalue: str, kind: str):
        super().__init__(evalue)
        self.index, self.ename, self.evalue, self.kind = index, ename, evalue, kind


class GuardedExecute(Execute):
    """Execute with a notebook time limit, a sandboxed kernel, output caps and crash recovery."""

    notebook_timeout = Int(900, help="Seconds all cells of one notebook may take together.").tag(config=True)
    max_kernel_restarts = Int(3, help="Kernel deaths survived per notebook before giving up.").tag(config=True)
    max_output_bytes = Int(2**20, help="Output kept per cell while it runs; the rest is dropped.").tag(config=True)
    course_root = Unicode(help="The course directory, hidden from student kernels.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    @default("course_root")
    def _default_course_root(self):
        return CourseDirectory(parent=self).root

    def preprocess(self, nb: NotebookNode, resources, km=None):
        deadline = monotonic() + self.notebook_timeout
        skipped: dict[int, tuple[str, str]] = {}
        self._template = kernel_template(Sandbox(parent=self), Path(self.course_root), wants_gpu())
        scratch_parent = self._template.scratch_root if self._template is not None else None
        with _scratch_directory(resources.get("metadata", {}).get("path"), scratch_parent) as self._scratch:
            for _attempt in range(self.max_kernel_restarts + 1):
                _clear_outputs(nb)
                try:
                    self._run_all(nb, resources, km, skipped, deadline)
                    break
                except _Restart as restart:
                    skipped[restart.index] = (restart.ename, restart.evalue)
                    events.record(resources, restart.kind, restart.evalue, cell=restart.index,
                                  grade_id=grade_id(nb.cells[restart.index]))
            else:
                self._give_up(nb, skipped)
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

    def _init_client(self, nb, km, resources) -> None:
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.resources = {**resources, "metadata": {**resources.get("metadata", {}), "path": self._scratch}}
        self._output_bytes: dict[int, int] = {}
        self._truncated: set[int] = set()

    def _run_cell(self, cell, resources, index) -> None:
        try:
            self.preprocess_cell(cell, resources, index)
        except DeadKernelError:
            raise _Restart(index, "KernelDied", "the kernel died while running this cell "
                           "(os._exit, a crash, or it was killed); the rest of the notebook was re-run "
                           "without it", events.KERNEL_DIED) from None
        except CellTimeoutError:
            raise _Restart(index, TIMEOUT_ENAME, f"this cell ran past {self.timeout} s and ignored the "
                           "interrupt; the kernel was restarted and the rest re-run without it",
                           events.UNRESPONSIVE) from None
        if any(o.get("ename") == TIMEOUT_ENAME for o in cell.get("outputs", [])):
            events.record(resources, events.TIMEOUT, f"ran past {self.timeout} s and was interrupted",
                          cell=index, grade_id=grade_id(cell))
        if index in self._truncated:
            events.record(resources, events.OUTPUT_TRUNCATED,
                          f"printed more than {self.max_output_bytes} bytes", cell=index)

    def _stop_for_time(self, resources, first_index: int) -> None:
        message = f"not run: the notebook reached its time limit of {self.notebook_timeout} s"
        for cell in self.nb.cells[first_index:]:
            if cell.cell_type == "code" and cell.source.strip():
                add_error_output(cell, "NotebookTimeout", message)
        events.record(resources, events.NOTEBOOK_TIMEOUT, message, cell=first_index)

    def _note_confinement(self, resources) -> None:
        if isinstance(self.km, SandboxedKernelManager) and not self.km.confined:
            events.record(resources, events.UNCONFINED, "kernel ran without the bubblewrap sandbox")

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxedKernelManager):
            km.work_dir = self._scratch
            km.course_root = self.course_root
            km.use_gpu = wants_gpu()
            km.use_template(self._template)
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
def _scratch_directory(notebook_dir: str | None, parent: Path | None):
    """A private, empty working directory for one notebook's kernel (with the notebook's data files)."""
    scratch = Path(tempfile.mkdtemp(prefix="autograder-scratch-", dir=parent)).resolve()
    try:
        if notebook_dir:
            for path in Path(notebook_dir).iterdir():
                if path.is_file() and path.suffix != ".ipynb":
                    shutil.copyfile(path, scratch / path.name)
        yield str(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _clear_outputs(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
