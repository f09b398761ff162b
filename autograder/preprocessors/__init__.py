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
from .redact import RedactHiddenTests
from .repair import RepairCells
from .sanitize import SanitizeOutputs
from .scoring import ScoreTestCells

__all__ = [
    "AddRuntimeChecks",
    "CheckLoopsStatically",
    "CollectRuntimeChecks",
    "GuardedExecute",
    "HideHiddenTestTracebacks",
    "MarkLoopViolations",
    "RedactHiddenTests",
    "RepairCells",
    "SanitizeOutputs",
    "ScanIntegrity",
    "ScoreTestCells",
]
