"""Start a Jupyter kernel under resource limits: `python -m autograder.kernel_launcher --memory BYTES -- CMD...`.

Limits are set with setrlimit before the kernel's own command replaces this process. The memory
limit is RLIMIT_DATA (private writable memory): an allocation beyond it fails with a MemoryError or
a PyTorch "can't allocate memory" error instead of taking the machine down, and the large address
space reservations of CUDA do not count against it.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="autograder.kernel_launcher")
    parser.add_argument("--memory", type=int, default=0, help="RLIMIT_DATA in bytes (0: no limit)")
    parser.add_argument("--file-size", type=int, default=0, help="RLIMIT_FSIZE in bytes (0: no limit)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no kernel command given after --")
    if args.memory:
        resource.setrlimit(resource.RLIMIT_DATA, (args.memory, args.memory))
    if args.file_size:
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_size, args.file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
