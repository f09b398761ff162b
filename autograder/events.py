"""What happened while grading one notebook, recorded by the pipeline's steps for the report.

Each step appends events to `resources["autograder"]["events"]`; the converter writes them next to
the graded notebook, and the report turns them into statuses, reasons and flags.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Event kinds and what they mean for a submission's status.
TIMEOUT = "timeout"  # a cell ran past its time limit and was interrupted
NOTEBOOK_TIMEOUT = "notebook_timeout"  # the notebook ran past its total time limit
KERNEL_DIED = "kernel_died"  # os._exit, a segfault, or the kernel was killed
NOTEBOOK_FAILED = "notebook_failed"  # this notebook could not be graded (bad metadata, ...); the others were
UNRESPONSIVE = "unresponsive"  # the kernel ignored an interrupt and was killed
OUTPUT_TRUNCATED = "output_truncated"
LOOP_VIOLATION = "loop_violation"
PROBE_FAILED = "probe_failed"  # the runtime loop probe could not call a declared function
TAMPERING = "tampering"  # code that may interfere with the tests: flagged for review
CELLS_RESTORED = "cells_restored"  # test cells deleted, moved or duplicated and put back
UNCONFINED = "unconfined"  # kernels ran without the bubblewrap sandbox
FILE_NOT_KEPT = "file_not_kept"  # a file the notebook wrote was not copied into autograded/ (nor feedback/)
UNGUARDED = "unguarded"  # the kernel ran without the integrity guard: scores come from outputs


@dataclass
class Event:
    kind: str
    detail: str
    cell: int | None = None
    grade_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def events_of(resources: dict) -> list[dict[str, Any]]:
    """The event list of the notebook being converted (created on first use)."""
    return resources.setdefault("autograder", {}).setdefault("events", [])


def record(resources: dict, kind: str, detail: str, **extra: Any) -> None:
    known = {k: extra.pop(k) for k in ("cell", "grade_id") if k in extra}
    events_of(resources).append(Event(kind, detail, data=extra, **known).as_dict())
