"""The course's one configuration: nbgrader's settings and the course policy (due dates, late tiers,
time limits, devices). `nbgrader ...` and `autograder ...` both read this file from the repo root."""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

# --- nbgrader: this repository is the course directory ----------------------------------------
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "intro-cv"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.Exchange.timezone = "Asia/Shanghai"

# --- Course policy ---------------------------------------------------------------------------
c.CoursePolicy.timezone = "Asia/Shanghai"  # naive timestamps and due dates are in this zone
c.CoursePolicy.due_dates = {"assignment2": "2025-04-26 23:59:00"}
c.CoursePolicy.extensions_file = "extensions.csv"  # student_id, and due or extra_hours

# --- Late policy: at most 24 h late -15%, at most 48 h -30%, later: zero ---------------------
c.AssignLatePenalties.plugin_class = "autograder.late.TieredLatePenalty"
c.TieredLatePenalty.tiers = [[24, 15], [48, 30]]
c.TieredLatePenalty.beyond_last_tier = 100

# --- Grading pipeline: nbgrader's steps and the course's own, in order ------------------------
# Sanitize: restore the instructor's cell order, locked cells and deleted test cells.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "autograder.preprocessors.RepairCells",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.OverwriteCells.add_missing_cells = True
# Autograde: NO LOOPS and integrity checks around a guarded, sandboxed execution; test cells scored from the
# guard's verdicts; hidden-test text redacted and student HTML sanitized in every output; then grades.
c.Autograde.autograde_preprocessors = [
    "autograder.preprocessors.CheckLoopsStatically",
    "autograder.preprocessors.ScanIntegrity",
    "autograder.preprocessors.AddRuntimeChecks",
    "autograder.preprocessors.GuardedExecute",
    "autograder.preprocessors.ScoreTestCells",
    "autograder.preprocessors.RedactHiddenTests",
    "autograder.preprocessors.SanitizeOutputs",
    "autograder.preprocessors.CollectRuntimeChecks",
    "autograder.preprocessors.MarkLoopViolations",
    "nbgrader.preprocessors.IgnorePattern",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "autograder.late.AssignCourseLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Feedback: which checks failed and why, never the text of hidden tests.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.preprocessors.HideHiddenTestTracebacks",
    "autograder.preprocessors.RedactHiddenTests",
    "autograder.preprocessors.SanitizeOutputs",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.GenerateFeedback.exporter_class = "autograder.exporters.FeedbackHTMLExporter"  # the same page, 3x faster

# --- Limits for student code -----------------------------------------------------------------
c.Execute.timeout = 300  # seconds per cell (interrupted, then the notebook goes on)
c.GuardedExecute.notebook_timeout = 900  # seconds per notebook, all cells together
c.GuardedExecute.max_kernel_restarts = 3  # kernel deaths survived per notebook
c.GuardedExecute.max_output_bytes = 1_000_000  # output kept per cell while it runs
c.Sandbox.mode = "auto"  # bubblewrap when installed (no network, no course files), else a warning
c.Sandbox.memory_limit = 6 * 2**30  # bytes of private memory per kernel
c.Sandbox.file_size_limit = 2**30  # largest file a kernel may write
c.Sandbox.preload = ["numpy", "torch", "torchvision", "matplotlib", "matplotlib.pyplot",
                     "matplotlib_inline.backend_inline", "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel",
                     "course", "course.checks"]  # what the warm template imports before forking kernels
