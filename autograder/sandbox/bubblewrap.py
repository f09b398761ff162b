"""The bubblewrap sandbox: what a kernel (or the warm template) can see, as which user, and the small
launcher that starts bubblewrap on the grader's side.

The sandbox starts from an empty root and shows, read-only, only the system folders, this Python
environment and the packages kernels import; read-write, only the kernel's own runtime and scratch
folders. It has no network, its own PID/IPC/UTS namespaces, and runs as an unprivileged user: with
the grader running as root, a user namespace maps the sandbox user to `Sandbox.user` (nobody) on the
host, so student code is that user with no capabilities, not root with some dropped.

    python -m autograder.sandbox.bubblewrap SPEC.json -- COMMAND...   # run COMMAND in the sandbox
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from .settings import Sandbox

log = logging.getLogger(__name__)

LIFELINE_VARIABLE = "AUTOGRADER_LIFELINE"
SYSTEM_TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_ENTRIES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group", "nsswitch.conf",
    "hosts", "host.conf", "mime.types", "fonts", "ssl", "ca-certificates", "alternatives", "os-release",
    "matplotlibrc", "protocols", "services", "gai.conf", "debian_version",
)


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


def spec(sandbox: Sandbox, *, readable: list[Path], writable: list[Path], chdir: Path, env: dict[str, str],
         use_gpu: bool, template: bool, views: Path | None = None) -> dict:
    """What the launcher needs to start bubblewrap: its options and the folders to bind.

    `views` is a folder the sandbox's user can traverse, where the launcher (as root) shows it its sources.
    `template` is the warm template's sandbox: it keeps CAP_SYS_ADMIN and CAP_SETPCAP there (only to
    give each kernel namespaces of its own, then drop them) and its /tmp and /dev/shm are the
    kernels' to replace; a kernel started directly gets its bounded /tmp and /dev/shm here.
    """
    limits = sandbox.limits()
    # --as-pid-1: the command is the sandbox's init, and sets its own parent-death signal (bubblewrap's
    # --die-with-parent does not survive its switch to the sandbox's user): the sandbox dies with its launcher.
    options = ["--as-pid-1", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try", "--cap-drop", "ALL"]
    if template:
        options += ["--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP"]
    options += ["--clearenv", *(arg for name, value in sorted(env.items()) for arg in ("--setenv", name, value))]
    binds: list[list[str]] = []
    for name in SYSTEM_TOP_LEVEL:
        path = Path("/") / name
        if path.is_symlink():
            options += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            binds.append(["--ro-bind", str(path), str(path)])
    binds.append(["--ro-bind", "/usr", "/usr"])
    for name in ETC_ENTRIES:
        if (Path("/etc") / name).exists():
            binds.append(["--ro-bind", f"/etc/{name}", f"/etc/{name}"])
    if Path("/sys").is_dir():
        binds.append(["--ro-bind", "/sys", "/sys"])
    mounts = ["--proc", "/proc", "--dev", "/dev"]
    if use_gpu:
        for device in sorted(Path("/dev").glob("nvidia*")):
            mounts += ["--dev-bind", str(device), str(device)]
    if template:
        mounts += ["--tmpfs", "/tmp", "--dir", "/autograder-stage"]
    else:
        mounts += ["--size", str(limits["tmp"]), "--tmpfs", "/tmp", "--size", str(limits["shm"]), "--tmpfs", "/dev/shm"]
    binds += [["--ro-bind", str(p), str(p)] for p in readable if p != Path("/usr") and Path("/usr") not in p.parents]
    binds += [["--bind", str(p), str(p)] for p in writable]
    return {"bwrap": find_bwrap(), "options": options, "mounts": mounts, "binds": binds,
            "after": ["--remount-ro", "/", "--chdir", str(chdir)], "uid": sandbox.sandbox_uid(), "gpu": use_gpu,
            "views": str(views) if views else ""}


def launcher_command(spec_file: Path) -> list[str]:
    """The command that runs the rest of a command line inside the sandbox `spec_file` describes."""
    return [sys.executable, "-m", "autograder.sandbox.bubblewrap", str(spec_file), "--"]


def run_bubblewrap(spec_data: dict, view_root: Path, command: list[str]) -> int:
    """Run `command` in the sandbox and return its exit status (the launcher's whole job).

    The launcher stays bubblewrap's parent and holds the write end of a pipe, the sandbox's lifeline:
    the command ends when the pipe does, i.e. when the launcher is killed (by jupyter_client, or because
    the grader died). A parent-death signal could not do that: the kernel loses it when bubblewrap
    switches to the sandbox's user, and a sandbox's init ignores it.
    """
    import signal

    from . import linux

    binds = spec_data["binds"]
    user = spec_data["uid"]
    keep: list[int] = []
    if user is not None:
        # As root: the sandbox user is `user` on the host, through a user namespace only root can map;
        # bubblewrap then reads its sources as that user, so show them through private views.
        userns = linux.user_namespace_for(user, user)
        keep.append(userns)
        identity = ["--userns", str(userns), "--uid", str(user), "--gid", str(user)]
        view_root.mkdir(mode=0o755, parents=True, exist_ok=True)
        views = linux.bind_views([source for _, source, _ in binds], str(view_root))
        binds = [[option, view, dest] for (option, _, dest), view in zip(binds, views, strict=True)]
    else:
        identity = ["--unshare-user", "--disable-userns", "--uid", str(os.getuid()), "--gid", str(os.getgid())]
    read_end, write_end = os.pipe()
    keep.append(read_end)
    lifeline = ["--setenv", LIFELINE_VARIABLE, str(read_end)]
    args = [spec_data["bwrap"], *identity, *spec_data["options"], *lifeline, *spec_data["mounts"],
            *(arg for bind in binds for arg in bind), *spec_data["after"], "--", *command]
    child = subprocess.Popen(args, pass_fds=keep)
    for fd in keep:
        os.close(fd)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: child.send_signal(number))
    code = child.wait()
    os.close(write_end)
    return code if code >= 0 else 128 - code


def hold_lifeline() -> None:
    """In the sandboxed command, first thing: end this process (and so the sandbox) with its launcher."""
    import threading

    value = os.environ.pop(LIFELINE_VARIABLE, "")
    if not value:
        return
    read_end = int(value)

    def watch() -> None:
        try:
            while os.read(read_end, 1):
                pass
        finally:
            os._exit(137)

    threading.Thread(target=watch, name="autograder-lifeline", daemon=True).start()


@cache
def works(bwrap: str, uid: int | None) -> str:
    """'' when bubblewrap can start a sandbox like ours on this machine, else why not (checked once)."""
    sandbox = Sandbox()
    probe = spec(sandbox, readable=sandbox.readable_roots(), writable=[], chdir=Path("/"), env={}, use_gpu=False,
                 template=True)
    probe["uid"] = uid
    import tempfile

    with tempfile.TemporaryDirectory(prefix="autograder-bwrap-check-") as scratch:
        Path(scratch).chmod(0o755)
        spec_file = Path(scratch) / "spec.json"
        spec_file.write_text(json.dumps(probe))
        command = [*launcher_command(spec_file), sys.executable, "-c",
                   "from autograder.sandbox import linux; linux.unshare(linux.CLONE_NEWNS)"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not start: {error}"
    if done.returncode != 0:
        return f"bubblewrap could not start a sandbox here: {(done.stderr or done.stdout).strip()[-300:]}"
    return ""


def main(argv: list[str]) -> int:
    spec_file, command = Path(argv[0]), argv[2:] if argv[1:2] == ["--"] else argv[1:]
    spec_data = json.loads(spec_file.read_text())
    views = Path(spec_data.get("views") or spec_file.parent) / f"views-{os.getpid()}"
    return run_bubblewrap(spec_data, views, command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
