"""Kernels for student code: resource limits always, a bubblewrap sandbox where it is available.

Inside the sandbox the kernel sees the system read-only, this Python environment and the `course`
package read-only, its own working directory read-write, a private /tmp and HOME, no network, no
other processes, and nothing else of the course directory (no source/, gradebook, other students).
The kernel talks to the grader over IPC sockets in a private runtime directory, so it needs no
network at all; interrupts go as messages because signals do not cross bubblewrap's PID namespace.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, CaselessStrEnum, Int, List, Unicode
from traitlets.config import LoggingConfigurable

from .kernel_pool import KernelTemplate, new_root

log = logging.getLogger(__name__)

GiB = 2**30


class Sandbox(LoggingConfigurable):
    """How student kernels are confined (configured in nbgrader_config.py as c.Sandbox.*)."""

    mode = CaselessStrEnum(
        ["auto", "always", "never"],
        default_value="auto",
        help="auto: bubblewrap when installed, else run unconfined with a warning; always: refuse to "
        "grade without bubblewrap; never: no bubblewrap (resource limits still apply).",
    ).tag(config=True)

    memory_limit = Int(6 * GiB, help="Private memory a kernel may allocate, in bytes (0: none).").tag(config=True)

    file_size_limit = Int(1 * GiB, help="Largest file a kernel may write, in bytes (0: none).").tag(config=True)

    hidden_paths = List(
        Unicode(),
        default_value=[],
        help="Extra paths the kernel must not see (the course directory and HOME always are hidden).",
    ).tag(config=True)

    warn_unconfined = Bool(True, help="Log a warning when kernels run without bubblewrap.").tag(config=True)

    warm_kernels = Bool(
        True,
        help="Fork each notebook's fresh kernel from a warm template that has imported torch & co. "
        "(autograder.kernel_pool) instead of starting Python and importing them for every notebook.",
    ).tag(config=True)

    def bubblewrap(self) -> str | None:
        """The bwrap executable to use, or None when kernels run unconfined."""
        found = shutil.which("bwrap")
        if self.mode == "never":
            return None
        if found is None and self.mode == "always":
            raise RuntimeError("Sandbox.mode is 'always' but bubblewrap (bwrap) is not installed")
        if found is None and self.warn_unconfined:
            log.warning(
                "bubblewrap is not installed: student kernels run WITHOUT a filesystem/network sandbox "
                "(only time and memory limits apply). Install it: apt-get install -y bubblewrap"
            )
        return found


def _readable_roots() -> list[Path]:
    """What the kernel must read: this environment, its base interpreter, the course package, and this
    package (its kernel launcher and pool run inside the sandbox), wherever they are installed, even
    under /tmp, which the sandbox replaces."""
    import course

    packages = (Path(course.__file__), Path(__file__))
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), *(p.resolve().parent for p in packages)}
    return sorted(roots)


def limits_command(sandbox: Sandbox) -> list[str]:
    """The prefix that starts a command under the sandbox's resource limits."""
    return [
        sys.executable, "-m", "autograder.kernel_launcher",
        "--memory", str(sandbox.memory_limit), "--file-size", str(sandbox.file_size_limit), "--",
    ]


_templates: dict[tuple, KernelTemplate] = {}


def kernel_template(sandbox: Sandbox, course_root: Path, use_gpu: bool) -> KernelTemplate | None:
    """This process's warm kernel template for these settings (started on first use), or None."""
    if not sandbox.warm_kernels:
        return None
    bwrap = sandbox.bubblewrap()
    key = (str(course_root), use_gpu, bwrap, sandbox.memory_limit, sandbox.file_size_limit)
    if key not in _templates:
        root = new_root()
        wrap = limits_command(sandbox)
        if bwrap:
            wrap = [*bubblewrap_command(bwrap, root / "scratch", root / "runtime", course_root,
                                        sandbox.hidden_paths, use_gpu), "--", *wrap]
        _templates[key] = KernelTemplate(wrap, root, sweep=bool(bwrap))
        atexit.register(_templates[key].stop)
    _templates[key].start()
    return _templates[key]


def wants_gpu() -> bool:
    return os.environ.get("COURSE_DEVICE", "auto") != "cpu" and Path("/dev/nvidiactl").exists()


def bubblewrap_command(
    bwrap: str, work_dir: Path, runtime_dir: Path, course_root: Path, hidden: list[str], use_gpu: bool
) -> list[str]:
    """The bwrap prefix that confines one kernel to `work_dir`."""
    home = Path.home().resolve()
    args = [
        bwrap, "--die-with-parent", "--new-session",
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
    ]
    if use_gpu:
        for device in sorted(Path("/dev").glob("nvidia*")):
            args += ["--dev-bind", str(device), str(device)]
    for path in sorted({course_root.resolve(), home, *(Path(p).resolve() for p in hidden)}):
        if path.exists() and path != Path("/"):
            args += ["--tmpfs", str(path)]
    for root in _readable_roots():
        args += ["--ro-bind", str(root), str(root)]
    args += [
        "--bind", str(runtime_dir), str(runtime_dir),
        "--bind", str(work_dir), str(work_dir),
        "--chdir", str(work_dir),
        "--setenv", "HOME", "/tmp",
        "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib",
        "--unsetenv", "JPY_PARENT_PID",
    ]
    return args


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start under limits and, when possible, inside bubblewrap.

    The grading step sets `work_dir`, `course_root` and `template` before starting it. With a warm
    template, the kernel is forked from it (already confined and limited); otherwise a new Python
    process starts under the limits, inside its own bubblewrap sandbox.
    """

    work_dir = Unicode("", help="The kernel's working directory (the only writable course path).")
    course_root = Unicode("", help="The course directory, hidden from the kernel.")
    use_gpu = Bool(False, help="Expose NVIDIA devices inside the sandbox.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sandbox = Sandbox(parent=self)
        self._bwrap = self.sandbox.bubblewrap()
        self.template: KernelTemplate | None = None
        self._runtime_dir: Path | None = None

    def use_template(self, template: KernelTemplate | None) -> None:
        """Fork kernels from `template` (its runtime folder then holds the connection files)."""
        self.template = template
        if self._bwrap or template is not None:
            parent = template.runtime_root if template is not None else None
            self._runtime_dir = Path(tempfile.mkdtemp(prefix="kernel-", dir=parent))
            self.transport = "ipc"
            self.connection_file = str(self._runtime_dir / "kernel.json")
            self.ip = str(self._runtime_dir / "ipc")

    @property
    def confined(self) -> bool:
        return self._bwrap is not None

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        if self.template is not None and "ipykernel_launcher" in command:
            return self.template.kernel_command(command[command.index("ipykernel_launcher") + 1:])
        if not self._bwrap:
            return limits_command(self.sandbox) + command
        if self._runtime_dir is None:
            self.use_template(None)
        work_dir = Path(self.work_dir or os.getcwd()).resolve()
        prefix = bubblewrap_command(
            self._bwrap, work_dir, self._runtime_dir, Path(self.course_root or work_dir).resolve(),
            self.sandbox.hidden_paths, self.use_gpu,
        )
        return prefix + ["--"] + limits_command(self.sandbox) + command

    async def interrupt_kernel(self) -> None:
        if (self._bwrap or self.template is not None) and self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        await self._async_interrupt_kernel()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._runtime_dir is not None and not restart:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)
