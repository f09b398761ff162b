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
ERROR_EVENTS = {events.KERNEL_DIED}
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

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.student_id}.json"
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as handle:
            json.dump(asdict(self), handle, indent=1, sort_keys=True)
        os.replace(handle.name, path)
        return path

    @classmethod
    def load(cls, path: Path) -> StudentResult:
        return cls(**json.loads(path.read_text()))


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
    if staging.missing and not staging.present and not staging.unreadable:
        result.status = MISSING
        result.reasons.append("the submission holds none of the assignment's notebooks")
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
            if event["kind"] in REASON_EVENTS:
                result.reasons.append(f"{where}: {event['detail']}")
            elif event["kind"] == events.TAMPERING:
                result.flags.append(f"{notebook}: {event['detail']}")
            elif event["kind"] == events.UNCONFINED and "unsandboxed" not in result.flags:
                result.flags.append("unsandboxed")
            elif event["kind"] == events.LOOP_VIOLATION:
                result.loop_violations.append(f"{notebook}.{event['data']['function']}")
                result.loop_details.append(f"{notebook}.ipynb: {event['detail']}")
    if lateness is not None and lateness.problem:
        result.timestamp_problem = lateness.problem
        result.reasons.append(f"{lateness.problem}: the late policy cannot be applied, so there is no final score")
        failed = True
    if lateness is not None and lateness.submitted_at is not None:
        result.submitted_at = lateness.submitted_at.astimezone(zone).isoformat()
    if result.status != MISSING:
        if failed or kinds & ERROR_EVENTS:
            result.status = ERROR
        elif kinds & TIMEOUT_EVENTS:
            result.status = TIMEOUT
    return result
