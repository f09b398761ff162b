"""One kernel's own sandbox inside the warm template's: the template never runs student code, and
each kernel it forks gets namespaces of its own before any student code runs.

    template --fork--> keeper: new mount, PID, network, IPC, UTS namespaces
    keeper   --fork--> init (PID 1 there): private /tmp and /dev/shm, its own dirs only
    init     --fork--> kernel: no capabilities, seccomp, resource limits, then ipykernel

The kernel sees nothing of the template's runtime folder (its socket), of other kernels' folders or
of what earlier kernels left in /tmp; cannot signal, trace or read the memory of the template (an
ancestor PID namespace, non-dumpable); and everything it leaves running dies with its init.
Standard library only; runs in the template's sandbox, as its user, with CAP_SYS_ADMIN there.
"""

from __future__ import annotations

import errno
import os
import resource
import signal

from . import linux

STAGE = "/autograder-stage"  # an empty folder bubblewrap creates in the template's sandbox


def new_namespaces() -> None:
    """In the keeper: namespaces of its own for the kernel it is about to start."""
    flags = linux.CLONE_NEWNS | linux.CLONE_NEWPID | linux.CLONE_NEWNET | linux.CLONE_NEWIPC | linux.CLONE_NEWUTS
    linux.unshare(flags)
    try:
        linux.unshare(linux.CLONE_NEWCGROUP)
    except OSError:
        pass  # kernels without cgroup namespaces: the cgroup view is read-only anyway


def private_mounts(own_dirs: list[str], tmp_size: int, shm_size: int) -> None:
    """In the kernel's init: a fresh /tmp and /dev/shm of bounded size, and of the folders the pool
    shares with the template only this kernel's own (runtime and scratch), at their usual paths."""
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    flags = linux.MS_NOSUID | linux.MS_NODEV
    linux.mount("tmpfs", STAGE, "tmpfs", flags, "size=1m,mode=0700")  # the sandbox's root is read-only
    staged = []
    for index, folder in enumerate(own_dirs):
        stage = f"{STAGE}/{index}"
        os.makedirs(stage, exist_ok=True)
        linux.mount(folder, stage, None, linux.MS_BIND)
        staged.append(stage)
    linux.mount("tmpfs", "/tmp", "tmpfs", flags, f"size={max(tmp_size, 1 << 20)},mode=1777")
    for top in sorted({_top_outside_tmp(folder) for folder in own_dirs} - {None}):
        linux.mount("tmpfs", top, "tmpfs", flags, "size=1m,mode=0755")
    for folder, stage in zip(own_dirs, staged, strict=True):
        os.makedirs(folder, exist_ok=True)
        linux.mount(stage, folder, None, linux.MS_BIND)
        linux.umount(stage)
    linux.umount(STAGE)
    linux.mount("tmpfs", "/dev/shm", "tmpfs", flags, f"size={max(shm_size, 1 << 20)},mode=1777")


def _top_outside_tmp(folder: str) -> str | None:
    """The pool folder to hide when it is not under /tmp (e.g. TMPDIR points elsewhere)."""
    parts = os.path.normpath(folder).split(os.sep)
    if len(parts) < 3 or parts[1] == "tmp":
        return None
    return os.sep.join(parts[:-1])


def confine_kernel(limits: dict[str, int]) -> None:
    """In the kernel, before anything else: no capability, the seccomp filter, resource limits."""
    linux.drop_capabilities()
    try:
        linux.install_seccomp()
    except OSError as error:
        if error.errno != errno.ENOSYS:  # no filter for this processor: the capabilities are gone anyway
            raise
    apply_limits(limits)


def apply_limits(limits: dict[str, int]) -> None:
    """RLIMIT_DATA bounds private memory (a failed allocation is a MemoryError, not a dead machine;
    CUDA's address-space reservations do not count), RLIMIT_FSIZE each file, RLIMIT_NPROC processes."""
    for name, which in (("memory", resource.RLIMIT_DATA), ("file_size", resource.RLIMIT_FSIZE),
                        ("processes", resource.RLIMIT_NPROC)):
        if limits.get(name):
            resource.setrlimit(which, (limits[name], limits[name]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_init(start_kernel) -> int:
    """PID 1 of the kernel's namespace: start the kernel, pass signals on, reap orphans, and return
    the kernel's exit status once it ends (everything else in the namespace dies with this process)."""
    kernel = os.fork()
    if kernel == 0:
        code = 1
        try:
            start_kernel()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:  # noqa: BLE001 - the kernel could not start: report, exit non-zero
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)

    def forward(signum, _frame):
        try:
            os.kill(kernel, signum)
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if pid == kernel:
            return os.waitstatus_to_exitcode(status)
