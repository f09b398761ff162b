"""Grade a whole class: plan, execute submissions in parallel, save each student's grades, report.

Execution (the slow part: kernels running student notebooks) goes to worker processes on this
machine, or to a Dask cluster; each finished execution is saved into the class gradebook by this
process alone, one student at a time, so the gradebook is never written concurrently.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from .course import Course, CourseError  # noqa: F401 - re-exported for callers of batch
from .files import fingerprint, student_id_problem
from .grading import (
    Execution,
    GradingJob,
    assignment_notebooks,
    execute_submission,
    save_submission,
    snapshot_gradebook,
)
from .late import assess_lateness
from .results import StudentResult, classify, refused, result_name
from .warmup import resolve_devices, start_worker_pool, warm_up

log = logging.getLogger(__name__)


@dataclass
class BatchOptions:
    students: list[str] = field(default_factory=list)  # empty: everyone in submitted/ and the gradebook
    workers: int = 1
    device: str = "auto"  # auto | cpu | cuda
    cell_timeout: int | None = None
    scheduler: str | None = None  # a Dask scheduler address, or "local" for a LocalCluster
    force: bool = False
    keep_work: bool = False
    progress: bool = True
    pool: ProcessPoolExecutor | None = None  # worker processes already started (and warming), if any


def grade_assignment(course: Course, options: BatchOptions) -> list[StudentResult]:
    """Grade every student of the roster (resuming past work), then rebuild the reports.

    Each student's feedback is written as soon as their grades are saved, while the workers go on with
    the others, so that only the reports are left when the last student is done.
    """
    from .report import build_reports, generate_feedback

    course.check()
    notebooks = assignment_notebooks(course.db_url, course.assignment)
    students = course.roster(options.students)
    results = {}
    for student in [s for s in students if student_id_problem(s)]:  # never a path or a pattern of nbgrader's
        results[student] = refused(student, course.assignment, student_id_problem(student))
        results[student].save(course.results)
        students.remove(student)
    todo, kept = _plan(course, students, options.force)
    results.update(kept)
    devices = resolve_devices(options.device)
    snapshot = course.work / "gradebook-snapshot.db"
    snapshot_gradebook(Path(course.db_url.removeprefix("sqlite:///")), snapshot)
    jobs = [
        GradingJob(str(course.root), course.assignment, student, notebooks, str(snapshot),
                   str(course.work / student), device=devices[0].split(":")[0], cell_timeout=options.cell_timeout)
        for student in todo if course.submission(student).is_dir()
    ]
    for student in todo:
        if not course.submission(student).is_dir():
            result = classify(student, course.assignment, None, None, "", course.policy.zone)
            result.save(course.results)
            results[student] = result
    bar = tqdm(total=len(jobs), desc=f"grading {course.assignment}", unit="student", disable=not options.progress)
    feedback_done, feedback_failed = [], []
    for execution in _execute(jobs, options, devices):
        results[execution.student] = _save(course, execution, options.keep_work)
        feedback_failed += generate_feedback(course, [execution.student])
        feedback_done.append(execution.student)
        bar.set_postfix_str(f"{execution.student}: {results[execution.student].status}")
        bar.update()
    bar.close()
    if not options.keep_work:
        shutil.rmtree(course.work, ignore_errors=True)
    build_reports(course, feedback_done, feedback_failed)
    return [results[s] for s in sorted(results)]


def _plan(course: Course, students: list[str], force: bool) -> tuple[list[str], dict[str, StudentResult]]:
    """Students still to grade, and the results kept from earlier runs (same submission, not forced)."""
    todo, kept = [], {}
    for student in students:
        path = course.results / f"{result_name(student)}.json"
        if not force and path.exists():
            try:
                previous = StudentResult.load(path)
            except (ValueError, TypeError):
                previous = None
            if previous and previous.fingerprint == fingerprint(course.submission(student)):
                kept[student] = previous
                continue
        todo.append(student)
    return todo, kept


def _save(course: Course, execution: Execution, keep_work: bool) -> StudentResult:
    """Phase 2 for one student: grades into the gradebook, then the result file (in that order)."""
    folder = course.submission(execution.student)
    try:
        save_submission(course.root, course.assignment, execution)
    except Exception as error:  # noqa: BLE001 - reported as this student's error
        log.exception("saving grades of %s failed", execution.student)
        execution.crash = execution.crash or f"saving grades failed: {error}"
    lateness = assess_lateness(folder, course.assignment, execution.student, course.policy, course.plugin,
                               course.due)
    result = classify(execution.student, course.assignment, execution, lateness, fingerprint(folder),
                      course.policy.zone)
    _keep_log(course, execution)
    result.save(course.results)
    if not keep_work:
        shutil.rmtree(execution.work_dir, ignore_errors=True)
    return result


def _keep_log(course: Course, execution: Execution) -> None:
    log_file = Path(execution.work_dir) / "grading.log"
    if log_file.exists():
        (course.reports / "logs").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_file, course.reports / "logs" / f"{execution.student}.log")


def _execute(jobs: list[GradingJob], options: BatchOptions, devices: list[str]) -> Iterator[Execution]:
    """Run phase 1 of every job, yielding executions as they finish."""
    if not jobs:
        return
    if options.scheduler:
        from .cluster import execute_on_dask

        yield from execute_on_dask(jobs, options.scheduler)
        return
    if options.workers <= 1:
        from .sandbox.manager import release_plans

        warm_up(jobs[0].course_root, jobs[0].device)
        try:
            for job in jobs:
                yield _safe(execute_submission, job)
        finally:
            release_plans()  # this process's templates and pools end with the run
        return
    yield from _execute_in_pool(jobs, options.workers, devices, options.pool)


def _execute_in_pool(jobs: list[GradingJob], workers: int, devices: list[str],
                     pool: ProcessPoolExecutor | None = None) -> Iterator[Execution]:
    """A process pool (the one the command line started, or a new one); worker slot i computes on
    devices[i % len(devices)] (pinned GPUs)."""
    owned = pool is None
    pool = pool or start_worker_pool(workers, devices, jobs[0].course_root)
    try:
        pending: dict[Future, GradingJob] = {pool.submit(execute_submission, job): job for job in jobs}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                yield _from_future(future, job)
    finally:
        if owned:
            pool.shutdown(cancel_futures=True)


def _from_future(future: Future, job: GradingJob) -> Execution:
    try:
        return Execution.from_json(future.result())
    except Exception as error:  # noqa: BLE001 - a dead worker is this student's error
        return _crashed(job, f"the grading worker failed: {type(error).__name__}: {error}")


def _safe(run: Callable[[GradingJob], dict], job: GradingJob) -> Execution:
    try:
        return Execution.from_json(run(job))
    except Exception as error:  # noqa: BLE001
        return _crashed(job, f"{type(error).__name__}: {error}")


def _crashed(job: GradingJob, message: str) -> Execution:
    from .grading import Staging

    return Execution(job.student, Staging(), crash=message, work_dir=job.work_dir)
