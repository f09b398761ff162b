"""One student's grading result: a status, the reasons for it, and integrity flags.

Results are stored as JSON in reports/<assignment>/results/<student>.json, written atomically once
a student's grades are in the gradebook: a grader run that dies loses at most the students in
flight, and a re-run skips every student whose result matches the submission's fingerprint.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import events
from .grading import Execution
from .late import Lateness

GRADED, ERROR, TIMEOUT, MISSING = "graded", "error", "timeout", "missing"
ERROR_EVENTS = {events.KERNEL_DIED, events.NOTEBOOK_FAILED}
TIMEOUT_EVENTS = {events.TIMEOUT, events.NOTEBOOK_TIMEOUT, events.UNRESPONSIVE}
REASON_EVENTS = ERROR_EVENTS | TIMEOUT_EVENTS | {events.OUTPUT_TRUNCATED, events.CELLS_RESTORED, events.PROBE_FAILED}


@dataclass
class StudentResult:
    student_id: str
    assignment: str
    status: str
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    loop_violations: list[str] = field(default_factory=list)  # "notebook.function"
    loop_details: list[str] = field(default_factory=list)
    submitted_at: str = ""  # ISO-8601 in the course time zone
    timestamp_problem: str = ""
    fingerprint: str = ""
    seconds: float = 0.0
    graded_at: str = ""
    events: dict[str, list] = field(default_factory=dict)
    refused: bool = False  # the id was refused: nothing of this student was read or graded

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{result_name(self.student_id)}.json"
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as handle:
            json.dump(asdict(self), handle, indent=1, sort_keys=True)
        os.replace(handle.name, path)
        return path

    @classmethod
    def load(cls, path: Path) -> StudentResult:
        return cls(**json.loads(path.read_text()))


def result_name(student: str) -> str:
    """The file name of a student's result: the id, or a digest of it for an id the grader refused."""
    import hashlib

    from .files import student_id_problem

    if not student_id_problem(student):
        return student
    return "refused-" + hashlib.sha256(student.encode()).hexdigest()[:16]


def refused(student: str, assignment: str, problem: str) -> StudentResult:
    """The result of a student whose id the grader does not use (see `files.student_id_problem`)."""
    return StudentResult(student, assignment, ERROR, reasons=[problem], flags=["refused student id"], refused=True,
                         graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def classify(student: str, assignment: str, execution: Execution | None, lateness: Lateness | None,
             fingerprint: str, zone) -> StudentResult:
    """Turn what happened into a status: missing > error > timeout > graded, with every reason.

    A grader that failed before it looked at the submission (a dead worker) is an error, never "missing".
    """
    result = StudentResult(student, assignment, GRADED, fingerprint=fingerprint,
                           graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    if execution is None:
        result.status = MISSING
        result.reasons.append("no submission")
        return result
    staging = execution.staging
    result.seconds = round(execution.seconds, 1)
    result.events = execution.events
    kinds: set[str] = set()
    failed = False  # something kept part of the work from being graded
    if staging.missing and not staging.present and not staging.unreadable and not staging.refused:
        result.status = MISSING
        result.reasons.append("the submission holds none of the assignment's notebooks")
    for name, problem in staging.refused.items():
        result.reasons.append(f"{name}: {problem}" if name.startswith("(") else f"{name} {problem}")
        result.flags.append(f"refused file: {name}")
        failed = failed or name.startswith("(")
    for name in staging.missing:
        hint = f" (found {staging.renamed[name]!r}: rename it to {name}.ipynb)" if name in staging.renamed else ""
        result.reasons.append(f"{name}.ipynb is missing: 0 points{hint}")
        failed = failed or name in staging.renamed  # the work exists, under another name
    for name, problem in staging.unreadable.items():
        result.reasons.append(f"{name}.ipynb {problem}: 0 points")
        failed = True
    for name, repair in staging.repaired.items():
        result.reasons.append(f"{name}.ipynb {repair}")
    if staging.strays:
        result.flags.append("stray files: " + ", ".join(staging.strays[:8]))
    if execution.crash:
        result.reasons.append("the grader failed on this submission: " + execution.crash.strip().splitlines()[-1])
        failed = True
    for notebook, found in sorted(execution.events.items()):
        for event in found:
            kinds.add(event["kind"])
            where = f"{notebook}.ipynb" + (f" cell {event['cell'] + 1}" if event.get("cell") is not None else "")
            if event["kind"] == events.PROBE_FAILED:  # a probe that cannot run is a flag, never a pass
                result.flags.append(f"{notebook}: the NO LOOPS runtime check could not run: {event['detail']}")
            if event["kind"] in REASON_EVENTS:
                result.reasons.append(f"{where}: {event['detail']}")
            elif event["kind"] == events.TAMPERING:
                where = f"{notebook}" + (f" cell {event['cell'] + 1}" if event.get("cell") is not None else "")
                flag = f"{where}: {event['detail']}"
                if flag not in result.flags:
                    result.flags.append(flag)
            elif event["kind"] == events.UNCONFINED and "unsandboxed" not in result.flags:
                result.flags.append("unsandboxed")
            elif event["kind"] == events.UNGUARDED and "unguarded" not in result.flags:
                result.flags.append("unguarded")
            elif event["kind"] == events.FILE_NOT_KEPT:
                result.reasons.append(f"{where}: {event['detail']}")
                result.flags.append(f"file not kept: {event['data'].get('file', '?')}")

            elif event["kind"] == events.LOOP_VIOLATION:
                result.loop_violations.append(f"{notebook}.{event['data']['function']}")
                result.loop_details.append(f"{notebook}.ipynb: {event['detail']}")
    if lateness is not None and lateness.problem:
        result.timestamp_problem = lateness.problem
        result.reasons.append(f"{lateness.problem}: the late policy cannot be applied, so there is no final score")
        failed = True
    if lateness is not None and lateness.submitted_at is not None:
        result.submitted_at = lateness.submitted_at.astimezone(zone).isoformat()
    if lateness is not None:
        result.flags += [flag for flag in lateness.flags if flag not in result.flags]
    if result.status != MISSING:
        if failed or kinds & ERROR_EVENTS:
            result.status = ERROR
        elif kinds & TIMEOUT_EVENTS:
            result.status = TIMEOUT
    return result
