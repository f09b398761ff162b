"""A class of many small submissions graded end to end: what each student costs as the class grows.

    python bench/scale.py [--sizes 10,100,500] [--workers 2]

Each size is a fresh copy of the test suite's tiny course (two small notebooks per student, every
submission solved) graded by `autograder grade --workers W`, then `autograder report` on the graded
class. Prints, per size: the whole run, seconds per student, each student's execution (the median of
the first and of the last fifth of the students, in the order they were saved), the gap between
consecutive saves of results (the same medians: the gradebook's saves must not slow down), the
grading command's peak memory, and the report's time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.autograder.scale import grade_a_class  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,500")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, autograder grade --workers {args.workers}, the tiny course")
    print(f"{'students':>8} {'run s':>7} {'s/student':>10} {'execution s (first, last fifth)':>32} "
          f"{'save gap s (first, last)':>25} {'peak MiB':>9} {'report s':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
            run = grade_a_class(Path(scratch) / "course", size, args.workers)
        (e1, e2), (g1, g2) = run.fifths(run.execution), run.fifths(run.save_gaps or [0.0])
        print(f"{size:8d} {run.seconds:7.1f} {run.seconds / size:10.2f} {e1:15.2f} {e2:16.2f} "
              f"{g1:12.2f} {g2:12.2f} {run.peak_rss_mib:9.0f} {run.report_seconds:9.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
