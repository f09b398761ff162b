"""Warm kernels: every notebook gets a fresh kernel, forked from a template that has already
imported the heavy libraries (torch, torchvision, numpy, matplotlib, IPython).

Starting a kernel and importing PyTorch takes seconds; forking a process that already did takes
milliseconds. Each grading worker starts one template process (inside the sandbox, under the
resource limits, ahead of need). A kernel manager then launches, as the kernel's command, a small
`attach` client: it asks the template to fork a kernel, forwards signals to it, and exits with the
kernel's exit status, so jupyter_client manages it like any local kernel. The template never runs
student code; each fork is a new process with an empty namespace (one fresh kernel per notebook),
and when a kernel ends, the template kills whatever it left behind in the sandbox.

Module-level imports are the standard library only: `attach` must start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRELOAD = (
    "numpy", "torch", "torchvision", "matplotlib", "matplotlib.pyplot", "matplotlib_inline.backend_inline",
    "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "course", "course.checks",
)


# --- the template (runs inside the sandbox) ------------------------------------------------------


def serve(socket_path: str, preload: list[str], sweep: bool) -> None:
    """Import `preload`, then fork one kernel per request on `socket_path`, one at a time."""
    import importlib

    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - a missing optional module only costs speed
            print(f"kernel template: cannot preload {name}: {error}", file=sys.stderr)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(1)
    while True:
        connection, _ = server.accept()
        with connection:
            _serve_one(server, connection, sweep)


def _serve_one(server: socket.socket, connection: socket.socket, sweep: bool) -> None:
    reader = connection.makefile("rb")
    request = json.loads(reader.readline() or b"{}")
    pid = os.fork()
    if pid == 0:
        server.close()
        connection.close()
        _become_kernel(request)
    connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    status = None
    while status is None:
        ready, _, _ = select.select([connection], [], [], 0.05)
        if ready:
            line = reader.readline()
            if not line:  # the attach client died or was killed: so does the kernel
                _kill_group(pid, signal.SIGKILL)
            else:
                _kill_group(pid, json.loads(line).get("signal", signal.SIGTERM))
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(code)
    if sweep:
        _kill_everything_else()
    try:
        connection.sendall(json.dumps({"exit": status}).encode() + b"\n")
    except OSError:
        pass


def _become_kernel(request: dict) -> None:
    """In the forked child: a new session in the requested directory and environment, then ipykernel."""
    code = 1
    try:
        os.setsid()
        os.chdir(request.get("cwd") or "/tmp")
        os.environ.clear()
        os.environ.update(request.get("env", {}))
        os.environ.pop("JPY_PARENT_PID", None)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from ipykernel import kernelapp

        sys.argv = ["ipykernel_launcher", *request.get("argv", [])]
        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os._exit(code)


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


# --- the attach client (the command jupyter_client launches as "the kernel") ---------------------


def attach(socket_path: str, argv: list[str]) -> int:
    """Ask the template for a kernel, forward signals to it, exit with its exit status."""
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
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
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
    """One warm template per grading process, started on first use and restarted if it died."""

    def __init__(self, wrap: list[str], root: Path, preload: tuple[str, ...] = PRELOAD, sweep: bool = False):
        self.root = root
        self.runtime_root = root / "runtime"  # connection files and IPC sockets of its kernels
        self.scratch_root = root / "scratch"  # the kernels' working directories
        self.socket_path = str(self.runtime_root / "template.sock")
        self._wrap, self._preload, self._sweep = wrap, preload, sweep
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the template if it is not running; return at once (it warms up in the background)."""
        if self._process is not None and self._process.poll() is None:
            return
        self.runtime_root.mkdir(parents=True, exist_ok=True)
        self.scratch_root.mkdir(parents=True, exist_ok=True)
        Path(self.socket_path).unlink(missing_ok=True)
        command = [*self._wrap, sys.executable, "-m", "autograder.kernel_pool", "serve", "--socket",
                   self.socket_path, "--preload", ",".join(self._preload), *(["--sweep"] if self._sweep else [])]
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)

    def kernel_command(self, kernel_argv: list[str]) -> list[str]:
        self.start()
        return [sys.executable, "-m", "autograder.kernel_pool", "attach", "--socket", self.socket_path, "--",
                *kernel_argv]

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except OSError:
                pass
            self._process.wait()
        self._process = None


def new_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="autograder-pool-")).resolve()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="autograder.kernel_pool")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve")
    serve_parser.add_argument("--socket", required=True)
    serve_parser.add_argument("--preload", default=",".join(PRELOAD))
    serve_parser.add_argument("--sweep", action="store_true")
    attach_parser = commands.add_parser("attach")
    attach_parser.add_argument("--socket", required=True)
    attach_parser.add_argument("kernel_argv", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.socket, [m for m in args.preload.split(",") if m], args.sweep)
        return 0
    kernel_argv = args.kernel_argv[1:] if args.kernel_argv[:1] == ["--"] else args.kernel_argv
    return attach(args.socket, kernel_argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
