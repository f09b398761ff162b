"""The grading pipeline's own steps, chained with nbgrader's in nbgrader_config.py."""

from .checks import (
    AddRuntimeChecks,
    CheckLoopsStatically,
    CollectRuntimeChecks,
    MarkLoopViolations,
    ScanIntegrity,
)
from .execute import GuardedExecute
from .feedback import HideHiddenTestTracebacks
from .repair import RepairCells

__all__ = [
    "AddRuntimeChecks",
    "CheckLoopsStatically",
    "CollectRuntimeChecks",
    "GuardedExecute",
    "HideHiddenTestTracebacks",
    "MarkLoopViolations",
    "RepairCells",
    "ScanIntegrity",
]
