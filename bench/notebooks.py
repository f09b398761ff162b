"""Wall time of each source notebook run top to bottom in a fresh kernel (solutions in place).

    python bench/notebooks.py [--runs 3] [--mode full|grading] [NOTEBOOK ...]

`--mode grading` sets NBGRADER_EXECUTION=autograde, as nbgrader does while grading, so demos run
at their grading size. Prints one row per notebook: min / median / max seconds over the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "assignment2"


def run_once(path: Path, env: dict[str, str]) -> float:
    notebook = nbformat.read(path, as_version=4)
    resources = {"metadata": {"path": str(path.parent)}}
    client = NotebookClient(notebook, timeout=1200, allow_errors=False, resources=resources)
    start = time.perf_counter()
    client.execute(env=env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, default=sorted(SOURCE.glob("*.ipynb")))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mode", choices=("full", "grading"), default="full")
    parser.add_argument("--device", default=os.environ.get("COURSE_DEVICE", "cpu"))
    args = parser.parse_args()
    env = dict(os.environ, COURSE_DEVICE=args.device, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    if args.mode == "grading":
        env["NBGRADER_EXECUTION"] = "autograde"
    print(f"{os.cpu_count()} CPUs, device {args.device}, mode {args.mode}, {args.runs} runs each (seconds)")
    print(f"{'notebook':<24} {'min':>7} {'median':>7} {'max':>7}")
    for path in args.notebooks:
        times = [run_once(path, env) for _ in range(args.runs)]
        print(f"{path.name:<24} {min(times):7.1f} {statistics.median(times):7.1f} {max(times):7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
