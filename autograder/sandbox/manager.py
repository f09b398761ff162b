"""Kernels for student code: a jupyter_client kernel manager that starts every kernel sandboxed, with
the integrity guard, in one of three ways decided once per grading process:

- warm (the default): forked from this process's warm template, in a sandbox of its own;
- cold: a new Python in a bubblewrap sandbox of its own (`Sandbox.warm_kernels = False`);
- unconfined: bubblewrap is missing or cannot work here; resource limits, the environment allowlist and
  the guard still apply, a warning says so and every student graded so is flagged.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import HBChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Dict, DottedObjectName, List, Type, Unicode

from . import bubblewrap
from .channel import WardenChannel
from .launch import WARDEN_VARIABLE
from .settings import Sandbox
from .template import KernelTemplate

log = logging.getLogger(__name__)

CONTROL_SEND_TIMEOUT_MS = 3000

# What the guard protects and checks, besides builtins, sys and IPython itself.
GUARDED_MODULES = [
    "numpy", "numpy.testing", "numpy.linalg", "numpy.random", "torch", "torch.nn", "torch.nn.functional",
    "torch.nn.init", "torch.testing", "torch.linalg", "torchvision", "torchvision.models", "course", "course.checks",
    "course.loops", "autograder.noloops.static", "autograder.noloops.probe", "course.runtime",
    "math", "json", "linecache", "inspect", "traceback", "unittest", "operator",
    "functools", "itertools", "importlib", "threading", "warnings", "IPython", "IPython.display",
]
GUARDED_CLASSES = [
    "torch:Tensor", "torch.nn.modules.module:Module", "torch.nn.parameter:Parameter", "torch.nn.modules.conv:*",
    "torch.nn.modules.linear:*", "torch.nn.modules.batchnorm:*", "torch.nn.modules.container:*", "course.checks:*",
]


@dataclass
class KernelPool:
    """The folders of this process's kernels: `runtime/` (connection files, sockets) and `scratch/`
    (working directories) are shared with the sandboxes, each kernel seeing only its own subfolder;
    `private/` (requests to the template, sandbox specs) is the grader's alone."""

    root: Path
    uid: int | None = None
    runtime: Path = field(init=False)
    scratch: Path = field(init=False)
    private: Path = field(init=False)
    views: Path = field(init=False)

    def __post_init__(self):
        self.root.chmod(0o755)
        self.runtime, self.scratch, self.private = self.root / "runtime", self.root / "scratch", self.root / "private"
        self.views = self.root / "views"
        for folder, mode in ((self.runtime, 0o755), (self.scratch, 0o755), (self.private, 0o700), (self.views, 0o755)):
            folder.mkdir(mode=mode, exist_ok=True)
            folder.chmod(mode)

    def own(self, path: Path, mode: int = 0o700) -> Path:
        """Give a folder or file to the sandbox's user (when the grader is root)."""
        path.chmod(mode)
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)
        return path

    def folder(self, parent: Path, prefix: str) -> Path:
        return self.own(Path(tempfile.mkdtemp(prefix=prefix, dir=parent)))

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @classmethod
    def create(cls, uid: int | None) -> KernelPool:
        """A new pool in the temporary folder, marked with the process that owns it (so that the pool of a
        process killed outright can be told from a live one and removed by the next grading run)."""
        reap_abandoned_pools()
        pool = cls(Path(tempfile.mkdtemp(prefix=POOL_PREFIX)).resolve(), uid)
        (pool.private / OWNER_FILE).write_text(_process_identity(os.getpid()) or "")
        return pool


POOL_PREFIX = "autograder-pool-"
OWNER_FILE = "owner"


def _process_identity(pid: int) -> str | None:
    """`pid start-time`, which names one process even after its pid is reused; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return f"{pid} {stat.rsplit(')', 1)[1].split()[19]}"


def reap_abandoned_pools(folder: str | None = None) -> list[Path]:
    """Remove the kernel pools this user's grading processes left when they were killed outright (SIGKILL,
    a lost cluster worker): their owner is gone. Pools of live processes, other users' pools and pools
    whose owner is unrecorded are left alone."""
    removed = []
    for root in Path(folder or tempfile.gettempdir()).glob(POOL_PREFIX + "*"):
        try:
            if root.is_symlink() or root.stat().st_uid != os.geteuid():
                continue
            owner = (root / "private" / OWNER_FILE).read_text().split()
            alive = not owner or " ".join(owner) == _process_identity(int(owner[0]))
        except (OSError, ValueError):
            continue
        if alive:
            continue
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


@dataclass
class SandboxPlan:
    """How this process starts kernels, decided once per set of settings."""

    sandbox: Sandbox
    pool: KernelPool
    bwrap: str | None
    unconfined_reason: str = ""
    template: KernelTemplate | None = None

    @property
    def confined(self) -> bool:
        return self.bwrap is not None


_plans: dict[tuple, SandboxPlan] = {}


def sandbox_plan(sandbox: Sandbox, use_gpu: bool) -> SandboxPlan:
    """This process's plan for these settings: its folders, bubblewrap or not, its warm template."""
    key = (sandbox.mode, sandbox.memory_limit, sandbox.file_size_limit, sandbox.max_processes, sandbox.shm_size,
           sandbox.tmp_size, tuple(sandbox.readable_roots()), sandbox.warm_kernels, tuple(sandbox.preload), use_gpu,
           tuple(sandbox.environment))
    if key in _plans:
        return _plans[key]
    pool = KernelPool.create(sandbox.sandbox_uid())
    atexit.register(pool.remove)
    bwrap, reason = None, ""
    if sandbox.mode != "never":
        found = bubblewrap.find_bwrap()
        reason = "bubblewrap (bwrap) is not installed" if found is None else bubblewrap.works(found, pool.uid)
        bwrap = found if not reason else None
        if reason and sandbox.mode == "always":
            raise RuntimeError(f"Sandbox.mode is 'always', but {reason}")
    else:
        reason = "Sandbox.mode is 'never'"
    if reason and sandbox.warn_unconfined:
        log.warning("student kernels run WITHOUT the sandbox (%s): only time and memory limits, the environment "
                    "allowlist and the integrity guard apply, and every student is flagged 'unsandboxed'. "
                    "Install bubblewrap: apt-get install -y bubblewrap", reason)
    plan = SandboxPlan(sandbox, pool, bwrap, reason)
    if sandbox.warm_kernels:
        plan.template = _template(plan, use_gpu)
        atexit.register(plan.template.stop)
    _plans[key] = plan
    return plan


def _template(plan: SandboxPlan, use_gpu: bool) -> KernelTemplate:
    sandbox, pool = plan.sandbox, plan.pool
    socket_path = str(pool.runtime / "template.sock")
    prefix: list[str] = []
    if plan.confined:
        spec = bubblewrap.spec(sandbox, readable=sandbox.readable_roots(), writable=[pool.runtime, pool.scratch],
                               chdir=Path("/"), env=sandbox.kernel_environment(), use_gpu=use_gpu, template=True,
                               views=pool.views)
        spec_file = pool.private / "template-sandbox.json"
        spec_file.write_text(json.dumps(spec))
        prefix = bubblewrap.launcher_command(spec_file)
        pool.own(pool.runtime, 0o755)
        pool.own(pool.scratch, 0o755)
    tops = {name.split(".")[0] for name in sandbox.preload}
    preload = [*sandbox.preload, *(m for m in GUARDED_MODULES if m.split(".")[0] in tops and m not in sandbox.preload)]
    return KernelTemplate(prefix, socket_path, preload, confined=plan.confined,
                          log_file=pool.private / "template.log")


def guard_config(sandbox: Sandbox) -> dict[str, list[str]]:
    """What the kernel's guard is told at its start: which code is library code, what to protect."""
    library = {str(p) for p in sandbox.readable_roots()} | {"/usr/lib/python3", "/usr/local/lib/python3"}
    library |= {str(Path(p).resolve()) for p in sys.path if p and "site-packages" in p or "dist-packages" in p}
    return {"library": sorted(library), "module": GUARDED_MODULES, "class": GUARDED_CLASSES}


def wants_gpu() -> bool:
    return os.environ.get("COURSE_DEVICE", "auto") != "cpu" and Path("/dev/nvidiactl").exists()


class PatientHeartbeat(HBChannel):
    """jupyter_client's heartbeat, for kernels that may vanish: stopping it never waits for good (its
    thread's ping to a kernel that is gone can wait forever, and the client's cleanup joins that thread)."""

    def stop(self) -> None:
        self._running = False
        self._exit.set()
        self.join(timeout=3)
        if not self.is_alive():
            self.close()


class SandboxedKernelClient(AsyncKernelClient):
    hb_channel_class = Type(PatientHeartbeat)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start sandboxed and guarded (see the module's docstring).

    The grading step sets `work_dir` (the kernel's private scratch folder) before starting it.
    """

    work_dir = Unicode("", help="The kernel's working directory (the only writable folder it sees).")
    use_gpu = Bool(False, help="Expose NVIDIA devices inside the sandbox.")
    guarded = Bool(True, help="Start the kernel with the integrity guard (Python kernels only).")
    extra_env = Dict(help="Variables the kernel gets besides the sandbox's allowlist (e.g. COURSE_DEVICE).")
    preload = List(Unicode(), help="Unused: the template's preload comes from Sandbox.preload.")
    client_class = DottedObjectName("autograder.sandbox.manager.SandboxedKernelClient")
    client_factory = Type(SandboxedKernelClient, klass=AsyncKernelClient)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sandbox = Sandbox(parent=self)
        self.plan: SandboxPlan | None = None
        self.channel: WardenChannel | None = None
        self._runtime_dir: Path | None = None

    @property
    def confined(self) -> bool:
        return self.plan is not None and self.plan.confined

    @property
    def unconfined_reason(self) -> str:
        return self.plan.unconfined_reason if self.plan is not None else ""

    async def _async_pre_start_kernel(self, **kw):
        self.plan = sandbox_plan(self.sandbox, self.use_gpu)
        pool = self.plan.pool
        self._cleanup_runtime()
        self._runtime_dir = pool.folder(pool.runtime, "kernel-")
        self.transport = "ipc"
        self.connection_file = str(self._runtime_dir / "kernel.json")
        self.ip = str(self._runtime_dir / "ipc")
        extra = dict(self.extra_env)
        if self._is_python() and self.guarded and self.sandbox.guard:
            self.channel = WardenChannel(self._runtime_dir / "warden.sock", guard_config(self.sandbox), pool.uid)
            extra[WARDEN_VARIABLE] = str(self.channel.path)
        if not self.confined:  # no private /tmp: a private home in the kernel's own runtime folder
            home = pool.folder(self._runtime_dir, "home-")
            extra.update({"HOME": str(home), "TMPDIR": str(home), "MPLCONFIGDIR": str(home / "matplotlib"),
                          "IPYTHONDIR": str(home / ".ipython"), "XDG_CACHE_HOME": str(home / ".cache")})
        self._kernel_env = self.sandbox.kernel_environment(extra)
        kw["env"] = dict(self._kernel_env)
        kw["cwd"] = self.work_dir or str(self._runtime_dir)
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        kw["env"] = dict(self._kernel_env)
        if Path(self.connection_file).exists():
            pool.own(Path(self.connection_file), 0o600)
        return kernel_cmd, kw

    def _is_python(self) -> bool:
        return self.kernel_spec is not None and "ipykernel_launcher" in " ".join(self.kernel_spec.argv)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        plan = self.plan
        limits = self.sandbox.limits()
        python = "ipykernel_launcher" in command
        kernel_argv = command[command.index("ipykernel_launcher") + 1:] if python else command
        work_dir = Path(self.work_dir or self._runtime_dir).resolve()
        own_dirs = [str(self._runtime_dir), str(work_dir)]
        if plan.template is not None and python:
            request = {"cwd": str(work_dir), "env": self._kernel_env, "limits": limits, "own_dirs": own_dirs}
            request_file = Path(tempfile.mkstemp(prefix="request-", dir=plan.pool.private)[1])
            return plan.template.kernel_command(kernel_argv, request, request_file)
        launch = [sys.executable, "-m", "autograder.sandbox.launch", "--limits", json.dumps(limits)]
        inner = [*launch, *(["--confine"] if plan.confined else []), "--", *kernel_argv] if python else command
        if not plan.confined:
            return inner
        spec = bubblewrap.spec(self.sandbox, readable=self.sandbox.readable_roots(),
                               writable=[Path(d) for d in own_dirs], chdir=work_dir, env=self._kernel_env,
                               use_gpu=self.use_gpu, template=False, views=plan.pool.views)
        spec_file = Path(tempfile.mkstemp(prefix="sandbox-", suffix=".json", dir=plan.pool.private)[1])
        spec_file.write_text(json.dumps(spec))
        return bubblewrap.launcher_command(spec_file) + inner

    def _connect_control_socket(self) -> None:
        """The control socket never blocks the grader: a kernel whose student code broke its connections
        (writing garbage on every descriptor, say) would otherwise hang an interrupt or a shutdown forever."""
        super()._connect_control_socket()
        self._control_socket.setsockopt(zmq.SNDTIMEO, CONTROL_SEND_TIMEOUT_MS)
        self._control_socket.linger = 0

    async def _async_interrupt_kernel(self) -> None:
        if self.kernel_spec is not None:  # signals do not cross the sandbox's PID namespace
            self.kernel_spec.interrupt_mode = "message"
        try:
            await super()._async_interrupt_kernel()
        except zmq.Again:  # the kernel's end of the control channel is gone: it cannot be interrupted
            log.warning("the kernel does not take messages any more; killing it")
            await self._async_kill_kernel()

    async def interrupt_kernel(self) -> None:
        await self._async_interrupt_kernel()

    async def _async_request_shutdown(self, restart: bool = False) -> None:
        try:
            await super()._async_request_shutdown(restart=restart)
        except zmq.Again:
            await self._async_kill_kernel()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._cleanup_runtime()

    def _cleanup_runtime(self) -> None:
        if self.channel is not None:
            self.channel.close()
        if self._runtime_dir is not None:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)
            self._runtime_dir = None


def release_plans() -> None:
    """Stop this process's warm templates and remove its kernel pools (a grading run in this process is
    over: nothing of its sandboxes outlives it, even if the process goes on)."""
    while _plans:
        _, plan = _plans.popitem()
        if plan.template is not None:
            plan.template.stop()
        plan.pool.remove()


def warm_up(sandbox: Sandbox, use_gpu: bool) -> None:
    """Start this process's warm template ahead of need (it imports the course's libraries meanwhile)."""
    plan = sandbox_plan(sandbox, use_gpu)
    if plan.template is not None:
        plan.template.start()
