"""How student kernels are confined: one configurable (`c.Sandbox.*` in nbgrader_config.py)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from traitlets import Bool, CaselessStrEnum, Int, List, Unicode
from traitlets.config import LoggingConfigurable

log = logging.getLogger(__name__)

GiB, MiB = 2**30, 2**20

# Passed on to student kernels when the grader has them; nothing else of the grader's environment is.
DEFAULT_ENVIRONMENT = [
    "LANG", "LC_ALL", "LC_CTYPE", "TZ", "COURSE_DEVICE", "NBGRADER_EXECUTION", "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYTHONHASHSEED", "MPLBACKEND",
]


class Sandbox(LoggingConfigurable):
    """Confinement of every kernel that runs student code."""

    mode = CaselessStrEnum(
        ["auto", "always", "never"],
        default_value="auto",
        help="auto: the bubblewrap sandbox when it works on this machine, else run unconfined, say so "
        "loudly and flag every student; always: refuse to grade without it; never: no sandbox (resource "
        "limits, the environment allowlist and the in-kernel integrity guard still apply).",
    ).tag(config=True)

    memory_limit = Int(6 * GiB, help="Private memory a kernel may allocate, in bytes (0: none).").tag(config=True)

    shm_size = Int(256 * MiB, help="Size of the kernel's private /dev/shm (shared memory), in bytes.").tag(config=True)

    tmp_size = Int(1 * GiB, help="Size of the kernel's private /tmp (which is also its HOME), in bytes.").tag(
        config=True)

    file_size_limit = Int(1 * GiB, help="Largest file a kernel may write, in bytes (0: none).").tag(config=True)

    max_processes = Int(512, help="Processes (and threads) the sandbox user may run at once.").tag(config=True)

    user = Int(65534, help="The unprivileged uid (and gid) student code runs as when the grader is root.").tag(
        config=True)

    environment = List(
        Unicode(), default_value=DEFAULT_ENVIRONMENT,
        help="Names of environment variables passed to kernels when set; the kernel gets no other variable "
        "of the grader's (HOME, TMPDIR, PATH and the like are set for the sandbox).",
    ).tag(config=True)

    readable_paths = List(
        Unicode(), default_value=[],
        help="Extra directories kernels may read (read-only), beyond the system, this Python environment and "
        "the packages the course imports.",
    ).tag(config=True)

    packages = List(
        Unicode(), default_value=["course"],
        help="Python packages kernels import whose files live outside the environment (editable installs): "
        "their folders are made readable. Missing ones are skipped.",
    ).tag(config=True)

    warm_kernels = Bool(
        True,
        help="Fork each notebook's fresh kernel from a warm template that has imported `preload`, each in a "
        "sandbox of its own, instead of starting Python and importing them for every notebook.",
    ).tag(config=True)

    preload = List(
        Unicode(), default_value=["IPython", "ipykernel.kernelapp", "ipykernel.ipkernel"],
        help="Modules the warm template imports before forking kernels (whatever the course's notebooks import: "
        "numpy, torch, ...). A module that is not installed only costs speed.",
    ).tag(config=True)

    warn_unconfined = Bool(True, help="Log a warning when kernels run without the sandbox.").tag(config=True)

    guard = Bool(
        True,
        help="Install the integrity guard in every Python kernel (autograder.sandbox.warden): test cells run "
        "through it and it reports tampering; without it, scores come from the outputs as in plain nbgrader.",
    ).tag(config=True)

    def limits(self) -> dict[str, int]:
        return {"memory": self.memory_limit, "file_size": self.file_size_limit, "processes": self.max_processes,
                "shm": self.shm_size, "tmp": self.tmp_size}

    def sandbox_uid(self) -> int | None:
        """The uid kernels run as on the host: `user` when the grader is root, else the grader's own."""
        return self.user if os.geteuid() == 0 else None

    def readable_roots(self) -> list[Path]:
        """What a kernel must read: this environment and its base interpreter, the autograder package
        (the kernel launcher and guard run inside), the course's packages, and the configured extras."""
        import importlib.util

        roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
        roots.add(Path(__file__).resolve().parents[1])  # the autograder package
        for name in self.packages:
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin:
                roots.add(Path(spec.origin).resolve().parent)
        roots |= {Path(p).resolve() for p in self.readable_paths}
        nested = {r for r in roots if any(o != r and o in r.parents for o in roots)}
        return sorted(roots - nested)

    def kernel_environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment a kernel starts with: the allowlist's variables the grader has, and the
        sandbox's own HOME, TMPDIR, PATH, caches."""
        env = {name: os.environ[name] for name in self.environment if name in os.environ}
        env.update({
            "HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/.ipython",
            "XDG_CACHE_HOME": "/tmp/.cache", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        })
        env.update(extra or {})
        return env
