"""`autograder` command line: one sub-command per task of an instructor or grader."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .config import find_course_root
from .release import check_course, generate_release

log = logging.getLogger("autograder")


def _release(args: argparse.Namespace) -> int:
    root = find_course_root(args.course)
    released = generate_release(root, args.assignment)
    for path in released:
        print(f"released {path.relative_to(root)}")
    return _check(args)


def _check(args: argparse.Namespace) -> int:
    root = find_course_root(args.course)
    problems = check_course(root, args.assignment)
    for problem in problems:
        print(f"PROBLEM {problem}")
    if problems:
        print(f"{len(problems)} problem(s) in {args.assignment}")
        return 1
    print(f"{args.assignment}: source clean, NO LOOPS declarations sound, release current and leak-free")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    parser.add_argument("--course", type=Path, default=None, help="course directory (default: found from cwd)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log nbgrader's progress")
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="regenerate release/ASSIGNMENT from source/ and check it")
    release.add_argument("assignment")
    release.set_defaults(run=_release)

    check = commands.add_parser("check", help="check source/ and release/ without writing anything")
    check.add_argument("assignment")
    check.set_defaults(run=_check)
    return parser


def _put_environment_on_path() -> None:
    """nbgrader runs `alembic` and kernels by name: make this interpreter's bin/ visible to it."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def main(argv: list[str] | None = None) -> int:
    _put_environment_on_path()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
