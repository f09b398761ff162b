"""Warm kernels: each notebook's fresh kernel is forked from a template that has already imported the
course's heavy libraries (torch, numpy, matplotlib, IPython), in a sandbox of its own.

Starting Python and importing PyTorch takes seconds; forking a process that already did takes
milliseconds. Each grading worker starts one template in a bubblewrap sandbox, ahead of need. A
kernel manager then launches, as the kernel's command, a small `attach` client on the grader's side:
it asks the template for a kernel, passes signals on, and exits with the kernel's exit status, so
jupyter_client manages it like any local kernel.

The template never runs student code, and no kernel can reach it: every kernel gets namespaces and
folders of its own (`autograder.sandbox.isolate`), the template's memory is closed to it, and the
template answers only requests that carry the token its owner gave it on its stdin. When a kernel
ends, the template kills whatever is left in its sandbox.

Module-level imports are the standard library only: `attach` must start fast.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

# --- the template (runs inside its bubblewrap sandbox) -------------------------------------------


MEMORY_EXIT_CODE = 71  # the kernel's exit status when its processes together passed the memory limit
DISK_EXIT_CODE = 72  # ... when its working folder passed the size of its /tmp
MAX_FOLDER_ENTRIES = 100_000


def serve(socket_path: str, preload: list[str], sweep: bool) -> None:
    """Import `preload`, then fork one kernel per authenticated request on `socket_path`, in turn.

    `sweep`: the template is PID 1's only child in a sandbox of its own, so whatever is left when a
    kernel ends can be killed (never without a sandbox: it would be every process of the machine's user).
    """
    import importlib

    from . import linux
    from .bubblewrap import hold_lifeline

    hold_lifeline()  # the sandbox ends with bubblewrap, i.e. with the grader that started it
    linux.die_with_parent()  # without a sandbox: with the grader
    token = b""
    while not token.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            break
        token += chunk
    token = token.decode().strip()
    linux.set_dumpable(False)  # nothing running as this user may read or trace the template
    threading.Thread(target=_exit_when_orphaned, daemon=True).start()
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - a missing optional module only costs speed
            print(f"kernel template: cannot preload {name}: {error}", file=sys.stderr)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(4)
    while True:
        connection, _ = server.accept()
        with connection:
            _serve_one(server, connection, token, sweep)


def _exit_when_orphaned() -> None:
    """The owner keeps the template's stdin open: its end (the owner stopped or died) ends the template."""
    try:  # os.read, not sys.stdin: a forked kernel must not inherit a held lock of sys.stdin's buffer
        while os.read(0, 1 << 16):
            pass
    finally:
        os._exit(0)


def _serve_one(server: socket.socket, connection: socket.socket, token: str, sweep: bool) -> None:
    connection.settimeout(10)
    reader = connection.makefile("rb")
    try:
        request = json.loads(reader.readline() or b"{}")
    except (ValueError, OSError):
        return
    if not hmac.compare_digest(str(request.get("token", "")), token):
        return
    connection.settimeout(None)
    pid = os.fork()
    if pid == 0:
        server.close()
        connection.close()
        _keep(request)
    connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    status = None
    usage = KernelUsage(request.get("limits", {}), request.get("cwd")) if sweep else None
    while status is None:
        ready, _, _ = select.select([connection], [], [], 0.05)
        if ready:
            line = reader.readline()
            if not line:  # the attach client died or was killed: so does the kernel
                _kill_group(pid, signal.SIGKILL)
            else:
                _kill_group(pid, json.loads(line).get("signal", signal.SIGTERM))
        over = usage.over_limit() if usage is not None else None
        if over is not None:  # the kernel's processes together, or its working folder, grew past the limit
            _kill_group(pid, signal.SIGKILL)
            _kill_everything_else()
            os.waitpid(pid, 0)
            status = over
            break
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(code)
    if sweep:
        _kill_everything_else()
    try:
        connection.sendall(json.dumps({"exit": status}).encode() + b"\n")
    except OSError:
        pass


class KernelUsage:
    """What one kernel uses in all, measured from the template's side of the sandbox (where every process
    but the template's own belongs to the kernel being served): the resident memory of all its processes
    together (per-process limits let three children of 1.5 GiB pass a 2 GiB limit) and the bytes in its
    working folder, which lies on the grader's disk (only each file's size is limited there)."""

    INTERVAL = 0.25

    def __init__(self, limits: dict, folder: str | None):
        self.memory, self.disk = limits.get("memory", 0), limits.get("tmp", 0)
        self.folder = folder
        self.checked = 0.0
        self.page = os.sysconf("SC_PAGE_SIZE")

    def over_limit(self) -> int | None:
        """MEMORY_EXIT_CODE or DISK_EXIT_CODE when a limit is passed (at most every INTERVAL seconds)."""
        now = time.monotonic()
        if now - self.checked < self.INTERVAL:
            return None
        self.checked = now
        if self.memory and self.resident() > self.memory:
            return MEMORY_EXIT_CODE
        if self.disk and self.folder and self.written() > self.disk:
            return DISK_EXIT_CODE
        return None

    def resident(self) -> int:
        own = {os.getpid(), 1}
        total = 0
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and int(entry.name) not in own:
                try:
                    with open(f"/proc/{entry.name}/statm", "rb") as handle:
                        total += int(handle.read().split()[1]) * self.page
                except (OSError, ValueError, IndexError):
                    continue
        return total

    def written(self) -> int:
        total, seen, stack = 0, 0, [self.folder]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError:
                continue
            for entry in entries:
                seen += 1
                if seen > MAX_FOLDER_ENTRIES:  # as many files as this is a way of filling the disk too
                    return self.disk + 1
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
        return total


def _keep(request: dict) -> None:
    """The keeper (in the template's namespaces): new namespaces, then the kernel's init in them."""
    from . import isolate, linux

    code = 1
    try:
        os.setsid()
        linux.die_with_parent()  # a kernel never outlives its template
        if not request.get("isolate", True):  # no sandbox on this machine: limits and the guard only
            _become_kernel(request)
            code = 0
            return
        isolate.new_namespaces()
        init = os.fork()
        if init == 0:
            os._exit(_init(request))
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, lambda s, _f: _signal_quietly(init, s))
        while True:
            try:
                _, status = os.waitpid(init, 0)
                break
            except InterruptedError:
                continue
        code = os.waitstatus_to_exitcode(status)
        linux.set_dumpable(False)
    except BaseException as error:  # noqa: BLE001 - whatever stops the kernel's start is its exit status
        print(f"kernel template: cannot start a kernel: {error}", file=sys.stderr)
    finally:
        os._exit(code if code >= 0 else 128 - code)


def _init(request: dict) -> int:
    """PID 1 of the kernel's namespace."""
    from . import isolate, linux

    try:
        linux.die_with_parent()
        limits = request.get("limits", {})
        isolate.private_mounts(request["own_dirs"], limits.get("tmp", 1 << 30), limits.get("shm", 1 << 28))
    except BaseException as error:  # noqa: BLE001
        print(f"kernel template: cannot isolate the kernel: {error}", file=sys.stderr)
        return 1
    code = isolate.run_init(lambda: _become_kernel(request))
    return code if code >= 0 else 128 - code


def _become_kernel(request: dict) -> None:
    """In the forked kernel: confined, in its own directory and environment, then ipykernel."""
    from . import isolate
    from .launch import run_kernel

    if os.getpid() != os.getsid(0):
        os.setsid()
    isolate.confine_kernel(request.get("limits", {}))
    os.chdir(request.get("cwd") or "/tmp")
    os.environ.clear()
    os.environ.update(request.get("env", {}))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    run_kernel(request.get("argv", []))


def _signal_quietly(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except OSError:
        pass


def _kill_group(pid: int, signum: int) -> None:
    for target in (lambda: os.killpg(pid, signum), lambda: os.kill(pid, signum)):
        try:
            target()
            return
        except (ProcessLookupError, PermissionError):
            continue


def _kill_everything_else() -> None:
    """Inside the sandbox's own PID namespace: end every process but this one and its ancestors."""
    keep, pid = set(), os.getpid()
    while pid > 1:
        keep.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    keep.add(1)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in keep:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                pass
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                break
        except ChildProcessError:
            break


# --- the attach client (the command jupyter_client launches as "the kernel", on the grader's side) --


def attach(socket_path: str, request_file: str, argv: list[str]) -> int:
    """Ask the template for a kernel, pass signals on to it, exit with its exit status."""
    path = Path(request_file)
    request = json.loads(path.read_text())
    path.unlink(missing_ok=True)
    request["argv"] = argv
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + 120
    while True:
        try:
            client.connect(socket_path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                print(f"no kernel template at {socket_path}", file=sys.stderr)
                return 1
            time.sleep(0.05)
    reader = client.makefile("rb")
    client.sendall(json.dumps(request).encode() + b"\n")

    def forward(signum, _frame):
        try:
            client.sendall(json.dumps({"signal": signum}).encode() + b"\n")
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    while True:
        line = reader.readline()
        if not line:
            return 1
        message = json.loads(line)
        if "exit" in message:
            status = message["exit"]
            return status if status >= 0 else 128 - status


# --- the template's owner (a grading worker) -----------------------------------------------------


class KernelTemplate:
    """One warm template per grading process and settings, started on first use, restarted if it died."""

    def __init__(self, command: list[str], socket_path: str, preload: list[str], confined: bool = True,
                 log_file: Path | None = None):
        self.socket_path = socket_path
        self.log_file = log_file  # the template's and its kernels' own error output, for the grader
        self.confined = confined  # False: no sandbox here, kernels are forked without namespaces of their own
        self._command, self._preload = command, preload
        self._token = secrets.token_hex(16)
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the template if it is not running; return at once (it warms up in the background)."""
        if self._process is not None and self._process.poll() is None:
            return
        Path(self.socket_path).unlink(missing_ok=True)
        command = [*self._command, sys.executable, "-m", "autograder.sandbox.template", "serve", "--socket",
                   self.socket_path, "--preload", ",".join(self._preload), *(["--sweep"] if self.confined else [])]
        log = self.log_file.open("ab") if self.log_file is not None else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                             stderr=log, start_new_session=True)
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        self._process.stdin.write(self._token.encode() + b"\n")
        self._process.stdin.flush()  # kept open: the template ends when it closes

    def kernel_command(self, kernel_argv: list[str], request: dict, request_file: Path) -> list[str]:
        """The command that runs one kernel forked from this template (`request` says how)."""
        self.start()
        request_file.write_text(json.dumps({**request, "token": self._token, "isolate": self.confined}))
        request_file.chmod(0o600)
        return [sys.executable, "-m", "autograder.sandbox.template", "attach", "--socket", self.socket_path,
                "--request", str(request_file), "--", *kernel_argv]

    def stop(self) -> None:
        if self._process is not None and self._process.stdin is not None:
            try:
                self._process.stdin.close()
            except OSError:
                pass
        if self._process is not None and self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except OSError:
                pass
            self._process.wait()
        self._process = None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="autograder.sandbox.template")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve")
    serve_parser.add_argument("--socket", required=True)
    serve_parser.add_argument("--preload", default="")
    serve_parser.add_argument("--sweep", action="store_true")
    attach_parser = commands.add_parser("attach")
    attach_parser.add_argument("--socket", required=True)
    attach_parser.add_argument("--request", required=True)
    attach_parser.add_argument("kernel_argv", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.socket, [m for m in args.preload.split(",") if m], args.sweep)
        return 0
    kernel_argv = args.kernel_argv[1:] if args.kernel_argv[:1] == ["--"] else args.kernel_argv
    return attach(args.socket, args.request, kernel_argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
