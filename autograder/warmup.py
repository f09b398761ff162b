"""The first second of a grading run: which devices the workers use, and kernels warming up at once.

Nothing here imports nbgrader (loading it takes seconds): the command line starts this process's warm
kernel template, or the pool of grading workers, before it loads the rest of the grader, so the
template imports the course's libraries while the grader imports its own, and while the class is
planned and staged.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

log = logging.getLogger(__name__)


def resolve_devices(device: str) -> list[str]:
    """The device each worker slot uses: ['cpu'], or one 'cuda' entry per visible GPU."""
    if device == "cpu":
        return ["cpu"]
    gpus = _visible_gpus()
    if device == "cuda" and not gpus:
        raise RuntimeError("--device cuda, but no CUDA device is visible")
    return [f"cuda:{index}" for index in gpus] or ["cpu"]


def _visible_gpus() -> list[str]:
    """GPU indices: CUDA_VISIBLE_DEVICES when set, else NVIDIA's device files (no torch import here: a
    course need not use torch, and the grading process never computes)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d for d in listed.split(",") if d.strip()]
    return sorted((p.name.removeprefix("nvidia") for p in Path("/dev").glob("nvidia*")
                   if p.name.removeprefix("nvidia").isdigit()), key=int)


def warm_up(course_root: str, device: str) -> None:
    """Start this process's warm kernel template ahead of need (it imports the course's libraries meanwhile)."""
    from .configfile import load_config
    from .sandbox.manager import wants_gpu
    from .sandbox.manager import warm_up as start_template
    from .sandbox.settings import Sandbox

    os.environ["COURSE_DEVICE"] = device
    try:
        start_template(Sandbox(config=load_config(Path(course_root))), wants_gpu())
    except Exception:  # noqa: BLE001 - a cold start is slower, not wrong
        log.exception("could not start a warm kernel template")


def start_worker_pool(workers: int, devices: list[str], course_root: str) -> ProcessPoolExecutor:
    """A pool of grading processes, started now: each warms its kernel template, then loads the grader."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(context.Value("i", 0), devices, course_root))
    for _ in range(workers):  # the pool starts a process per task it cannot hand to an idle one
        pool.submit(int)
    return pool


def _start_worker(slot, devices: list[str], course_root: str) -> None:
    """Pin this worker to its device, warm its kernel template, and load the grader meanwhile."""
    with slot.get_lock():
        index = slot.value
        slot.value += 1
    device = devices[index % len(devices)]
    from multiprocessing.util import Finalize

    from .sandbox.manager import release_plans

    # A pool worker ends without running atexit handlers: its templates and pools go with it this way.
    Finalize(None, release_plans, exitpriority=10)
    if device.startswith("cuda:"):
        os.environ["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
    warm_up(course_root, device.split(":")[0])
    from . import grading  # noqa: F401 - what every submission needs, loaded while the template warms
