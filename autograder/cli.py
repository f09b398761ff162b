"""`autograder` command line: one sub-command per task of an instructor or grader."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .configfile import find_course_root

log = logging.getLogger("autograder")


def _expected_failures() -> tuple[type[BaseException], ...]:
    """What a course directory can get wrong: reported in one line and exit status 2, never a traceback."""
    from .course import CourseError
    from .late import ExtensionError, TimestampsFileError
    from .release import ReleaseError

    return (CourseError, ExtensionError, TimestampsFileError, ReleaseError, FileNotFoundError, ValueError)


def _release(args: argparse.Namespace) -> int:
    from .release import generate_release

    root = find_course_root(args.course)
    released = generate_release(root, args.assignment)
    for path in released:
        print(f"released {path.relative_to(root)}")
    return _check(args)


def _check(args: argparse.Namespace) -> int:
    from .release import check_course

    root = find_course_root(args.course)
    problems = check_course(root, args.assignment)
    for problem in problems:
        print(f"PROBLEM {problem}")
    if problems:
        print(f"{len(problems)} problem(s) in {args.assignment}")
        return 1
    print(f"{args.assignment}: source clean, NO LOOPS declarations sound, release current and leak-free")
    return 0


def _grade(args: argparse.Namespace) -> int:
    root = find_course_root(args.course)
    args.workers = max(1, min(args.workers, _submissions_at_most(root, args)))  # no idle workers to start
    pool = _start_kernels_early(root, args) if (root / "source" / args.assignment).is_dir() else None
    try:
        from .batch import BatchOptions, Course, grade_assignment
        from .report import load_results

        course = Course(root, args.assignment)
        options = BatchOptions(
            students=args.student or [], workers=args.workers, device=args.device, cell_timeout=args.timeout,
            scheduler=args.scheduler, force=args.force, keep_work=args.keep_work, progress=not args.quiet,
            pool=pool,
        )
        grade_assignment(course, options)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return _print_grades(course, load_results(course))


def _submissions_at_most(root: Path, args: argparse.Namespace) -> int:
    """How many submissions there can be to grade (the students asked for, or the folders handed in)."""
    if args.student:
        return len(args.student)
    try:
        return sum(1 for path in (root / "submitted").iterdir() if path.is_dir())
    except OSError:
        return 0


def _start_kernels_early(root: Path, args: argparse.Namespace):
    """Before the grader itself loads (seconds): this process's warm template, or the pool of workers
    (returned), so that kernels warm up while the class is planned and staged."""
    if args.scheduler:
        return None
    from .warmup import resolve_devices, start_worker_pool, warm_up

    devices = resolve_devices(args.device)
    if args.workers <= 1:
        warm_up(str(root), devices[0].split(":")[0])
        return None
    return start_worker_pool(args.workers, devices, str(root))


def _report(args: argparse.Namespace) -> int:
    from .batch import Course
    from .report import build_reports, load_results

    course = Course(find_course_root(args.course), args.assignment)
    course.check()
    build_reports(course)
    return _print_grades(course, load_results(course))


def _demo(args: argparse.Namespace) -> int:
    import csv

    from .batch import BatchOptions, Course, grade_assignment
    from .demo import build_demo, outcome_mismatch
    from .report import load_results

    root = find_course_root(args.course)
    target = (args.into if args.into.is_absolute() else root / args.into).resolve()
    expected = build_demo(root, args.assignment, target)
    print(f"demo class of {len(expected)} students in {target}")
    course = Course(target, args.assignment)
    grade_assignment(course, BatchOptions(workers=args.workers, device=args.device, progress=not args.quiet))
    _print_grades(course, load_results(course))
    with (course.reports / "grades.csv").open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    mismatches = [f"{name}: {problem}" for name, outcome in expected.items()
                  if (problem := outcome_mismatch(outcome, rows.get(name), load_results(course).get(name)))]
    for line in mismatches:
        print(f"MISMATCH {line}")
    print("demo class graded as expected" if not mismatches else f"{len(mismatches)} demo student(s) off")
    return 1 if mismatches else 0


def _print_grades(course, results) -> int:
    """The grade table a grader reads first: scores, lateness, status and the main reason."""
    import csv

    path = course.reports / "grades.csv"
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    shown = ["student_id", "raw_score", "max_score", "hours_late", "late_penalty_pct", "final_score", "status"]
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in shown}
    print("  ".join(c.ljust(widths[c]) for c in shown) + "  notes")
    for row in rows:
        result = results.get(row["student_id"])
        notes = [*(result.reasons[:1] if result else [])]
        if row["loop_violations"]:
            notes.append(f"loops: {row['loop_violations']}")
        if row["flags"]:
            notes.append(f"flags: {row['flags']}")
        print("  ".join(row[c].ljust(widths[c]) for c in shown) + "  " + " | ".join(notes)[:160])
    print(f"\n{path} ({len(rows)} students); reasons in details.csv, feedback in feedback/")
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

    grade = commands.add_parser("grade", help="grade every submission of ASSIGNMENT and write the reports")
    grade.add_argument("assignment")
    grade.add_argument("--student", action="extend", nargs="+", metavar="ID", help="grade only these students")
    grade.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                       help="parallel grading processes (default: CPUs - 1)")
    grade.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="where notebooks compute: auto uses CUDA when present (one worker slot per GPU)")
    grade.add_argument("--timeout", type=int, default=None, metavar="SECONDS", help="time limit per cell")
    grade.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run on a Dask cluster: tcp://host:port, or 'local' for a local cluster")
    grade.add_argument("--force", action="store_true", help="grade again what is already graded")
    grade.add_argument("--keep-work", action="store_true", help="keep each submission's work folder")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.set_defaults(run=_grade)

    demo = commands.add_parser("demo", help="build a demo class from the release, grade it, check every row")
    demo.add_argument("assignment")
    demo.add_argument("--into", type=Path, default=Path("demo"), help="the demo course directory (default: demo/)")
    demo.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    demo.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo)

    report = commands.add_parser("report", help="rebuild grades.csv, feedback and summary from the gradebook")
    report.add_argument("assignment")
    report.set_defaults(run=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:  # library warnings (SQLAlchemy's, traitlets') are for the logs, not the terminal
        logging.captureWarnings(True)
        logging.getLogger("py.warnings").setLevel(logging.ERROR)
    try:
        return args.run(args)
    except _expected_failures() as error:
        if args.verbose:
            raise
        print(f"autograder {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 2


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 400 else text[:397] + "..."


if __name__ == "__main__":
    sys.exit(main())
