"""Start an IPython kernel for student code: the integrity guard first, then ipykernel.

    python -m autograder.sandbox.launch --limits JSON [--confine] -- -f CONNECTION_FILE ...

Used where a kernel starts as a new process (a sandbox of its own, or no sandbox); kernels forked
from the warm template call `run_kernel` directly after `isolate.confine_kernel`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

WARDEN_VARIABLE = "AUTOGRADER_WARDEN"  # the path of the grader's integrity channel for this kernel


def run_kernel(argv: list[str]) -> None:
    """Install the guard (before anything of the student's can run), then serve as ipykernel."""
    channel = os.environ.pop(WARDEN_VARIABLE, "")
    guard = None
    if channel:
        from . import warden

        guard = warden.install(channel)
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = ["ipykernel_launcher", *argv]
    app = IPKernelApp.instance()
    app.initialize(argv)
    if guard is not None:
        guard.kernel_ready(app)
    app.start()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="autograder.sandbox.launch")
    parser.add_argument("--limits", default="{}", help="JSON: memory, file_size, processes (bytes, count)")
    parser.add_argument("--confine", action="store_true", help="drop every capability and apply seccomp")
    parser.add_argument("kernel_argv", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    kernel_argv = args.kernel_argv[1:] if args.kernel_argv[:1] == ["--"] else args.kernel_argv
    from . import isolate, linux
    from .bubblewrap import hold_lifeline

    hold_lifeline()  # in a sandbox of its own: it ends with bubblewrap
    linux.die_with_parent()  # without one: with the grader
    limits = json.loads(args.limits)
    if args.confine:
        isolate.confine_kernel(limits)
    else:
        isolate.apply_limits(limits)
    run_kernel(kernel_argv)


if __name__ == "__main__":
    main(sys.argv[1:])
